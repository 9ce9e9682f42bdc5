"""The names the engine and asterisk/etc/extensions.conf share: contexts, the extensions
of [centralita-legs], and the channel variables the engine sets.

tests/unit/test_dialplan_names.py reads extensions.conf and fails if they drift apart.
"""

from __future__ import annotations

#: inbound callers (SIP trunks, softphones) are sent here by the admin's dialplan
INBOUND = "centralita-in"
#: agents' desk phones: internal calls and feature codes
AGENTS = "centralita-agents"
#: legs the engine originates (agents, callbacks, surveys, consultations) and callers it
#: moves (transfers, hold)
LEGS = "centralita-legs"
#: customers the dialer calls: answered, AMD listens, then the engine drives the call
DIALER = "centralita-dialer"
#: every context in which the engine drives calls parked in AGI(agi:async)
ENGINE_CONTEXTS = (INBOUND, AGENTS, LEGS, DIALER)

# Extensions of [centralita-legs] (any lowercase name reaches AGI(agi:async) there).
XFER = "xfer"  # a caller blind-transferred by their agent
HOLD = "hold"  # a caller on hold during a consultation
CONSULT = "consult"  # the consulting agent, talking to a colleague
CONFERENCE = "conference"  # a colleague joining a three-way call
CALLBACK = "callback"  # a customer called back
SURVEY = "survey"  # a customer called for a survey
#: an agent's line kept connected between a campaign's calls (back into AGI after each)
NAILED = "nailed"
#: main/pbx.c runs an unanswered Originate's pseudo channel here; it must just hang up
FAILED = "failed"
LEG_EXTENSIONS = (XFER, HOLD, CONSULT, CONFERENCE, CALLBACK, SURVEY, NAILED)

# Extensions of [centralita-dialer].
AMD = "amd"  # answering-machine detection first (its verdict: AGI's first argument)
DIRECT = "direct"  # no AMD: handed over at once as HUMAN

# Channel variables.
CALL_ID = "CENTRALITA_CALL_ID"  # the engine's call id, found again after a restart
AGENT = "CENTRALITA_AGENT"  # on agents' legs: whose phone it is
DNIS = "CENTRALITA_DNIS"  # set by [centralita-in]: the number the caller dialled
CAMPAIGN = "CENTRALITA_CAMPAIGN"  # on a dialled customer's channel
LEAD = "CENTRALITA_LEAD"
AMD_ARGS = "CENTRALITA_AMD"  # AMD()'s arguments, comma-separated (empty: amd.conf's)
