"""What one dial came to, and what becomes of the lead (pure, time passed in).

Outcomes, one vocabulary for logs, rows and MQTT:
- `answered`: a person reached an agent;
- `busy`, `no_answer`, `congestion`, `failed`: the Originate's Reason (5, 3, 8, 0 or 1);
- `machine`: AMD heard an answering machine (or an unsure line the campaign treats so);
- `dropped`: a person with no agent within 2 s: the safe-harbour message (abandoned);
- `hung_up`: the person hung up before an agent could be joined, within the 2 s;
- `opted_out`: they pressed the safe-harbour key: the number goes on the do-not-call list;
- `dnc`: found on the do-not-call list at dial time (not dialled).
Each retryable outcome has the campaign's rule (delay, most tries of that outcome); a lead
is also done once it reaches the campaign's `max_attempts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.model import Campaign

#: Originate's Reason (main/pbx.c, as recorded in ../shared/ami-transcripts/dialer) -> outcome
REASONS = {3: "no_answer", 5: "busy", 8: "congestion", 0: "failed", 1: "failed"}
RETRYABLE = ("busy", "no_answer", "machine", "congestion", "dropped", "failed")
#: the trunk did not take the call at all (as opposed to the far end not answering)
REFUSED = frozenset({"congestion", "failed"})
RANK_CALLBACK, RANK_DIALABLE, RANK_NONE = 0, 1, 9


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """The lead's columns after an attempt."""

    state: str  # retry, callback, done, exhausted, dnc
    rank: int
    next_at: float
    tries: dict[str, int]
    outcome: str


def outcome_of_reason(reason: int) -> str:
    return REASONS.get(reason, "failed")


def verdict(status: str, notsure: str) -> str:
    """AMD's AMDSTATUS as the dialer acts on it: human, machine, or hung_up (the line
    hung up during the analysis). NOAMD (no analysis) is a person."""
    if status in ("HUMAN", "NOAMD"):
        return "human"
    if status == "MACHINE":
        return "machine"
    if status == "HANGUP":
        return "hung_up"
    return "human" if notsure == "human" else "machine"  # NOTSURE, or nothing said


def after_attempt(c: Campaign, outcome: str, *, attempts: int, tries: dict[str, int],
                  now: float) -> LeadUpdate:
    """The lead after an attempt ended with `outcome` (`attempts` counts this one)."""
    counted = dict(tries)
    counted[outcome] = counted.get(outcome, 0) + 1
    if outcome == "answered":
        return LeadUpdate("done", RANK_NONE, now, counted, outcome)
    if outcome in ("opted_out", "dnc"):
        return LeadUpdate("dnc", RANK_NONE, now, counted, outcome)
    # hung_up: reached, but gone before anyone spoke: retried as a no-answer
    rule = c.retries.get("no_answer" if outcome == "hung_up" else outcome)  # type: ignore[call-overload]
    if rule is None or counted[outcome] > rule.max or attempts >= c.max_attempts:
        return LeadUpdate("exhausted", RANK_NONE, now, counted, outcome)
    if outcome == "dropped" and c.drop == "callback":
        return LeadUpdate("callback", RANK_CALLBACK, now + rule.after, counted, outcome)
    return LeadUpdate("retry", RANK_DIALABLE, now + rule.after, counted, outcome)


def skipped(tries: dict[str, int], now: float, delay: float = 3600.0) -> LeadUpdate:
    """An agent skipped the previewed lead: offered again later, not counted as a dial."""
    counted = dict(tries)
    counted["skipped"] = counted.get("skipped", 0) + 1
    return LeadUpdate("retry", RANK_DIALABLE, now + delay, counted, "skipped")


def follow_up(tries: dict[str, int], due: float) -> LeadUpdate:
    """The agent's disposition asks for a call back at `due`: first in the hopper then."""
    return LeadUpdate("callback", RANK_CALLBACK, due, dict(tries), "callback")
