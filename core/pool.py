"""The agent pool: every agent's status, shared by the ACD and the dialer.

All changes go through `apply` (the state machine in core/agentstate.py). Listeners
hear every change (the ACD's router, presence, the journal); when an agent becomes
ready the pool offers them to the sides that want agents, in the order blending decides
(core/blend.py): one place for inbound-versus-outbound priority.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import structlog

from core.agentstate import (
    AgentStatus,
    Connect,
    FinishCall,
    Input,
    Refused,
    Release,
    Reserve,
    State,
    apply,
)
from core.blend import INBOUND, OUTBOUND, BlendRule, Ledger, claim_order
from core.people import Directory

__all__ = ["AgentChanged", "AgentPool", "Refused"]


@dataclass(frozen=True, slots=True)
class AgentChanged:
    agent_id: str
    before: AgentStatus
    after: AgentStatus
    why: str  # what moved them: login, no_answer, restored, ...


Listener = Callable[[AgentChanged], None]
#: a side's offer for a free agent: True when it reserved them
Claim = Callable[[str], bool]


class AgentPool:
    def __init__(self, directory: Directory, clock: Callable[[], float], *,
                 campaigns: Mapping[str, frozenset[str]] | None = None,
                 blend: Mapping[str, BlendRule] | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self._status: dict[str, AgentStatus] = {a.id: AgentStatus() for a in directory}
        self.view: Mapping[str, AgentStatus] = MappingProxyType(self._status)
        #: campaigns each agent serves (outbound); agents with queues serve inbound
        self.campaigns: dict[str, frozenset[str]] = dict(campaigns or {})
        self.blend: dict[str, BlendRule] = dict(blend or {})
        self._ledger: dict[str, Ledger] = {}
        self._listeners: list[Listener] = []
        self._claims: dict[str, Claim] = {}
        self.log = structlog.get_logger("pool")

    # --- queries --------------------------------------------------------------------

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._status

    def __iter__(self) -> Iterator[str]:
        return iter(self._status)

    def status(self, agent_id: str) -> AgentStatus:
        return self._status[agent_id]

    def add(self, agent_id: str) -> None:
        """A new agent (a reload): logged out until they log in."""
        self._status.setdefault(agent_id, AgentStatus())

    def remove(self, agent_id: str) -> bool:
        """An agent who left agents.yaml: only once logged out (False: not yet)."""
        st = self._status.get(agent_id)
        if st is None:
            return True
        if st.state != "logged_out":
            return False
        del self._status[agent_id]
        self.campaigns.pop(agent_id, None)
        self.blend.pop(agent_id, None)
        self._ledger.pop(agent_id, None)
        return True

    def state(self, agent_id: str) -> State:
        return self._status[agent_id].state

    def count(self, state: State) -> int:
        return sum(1 for st in self._status.values() if st.state == state)

    def free(self, *, campaign: str | None = None, skills: Mapping[str, int] | None = None
             ) -> list[str]:
        """Ready agents who serve `campaign` (if given) and have `skills` at those levels."""
        out = []
        for agent_id, st in self._status.items():
            if st.state != "ready":
                continue
            if campaign is not None and campaign not in self.campaigns.get(agent_id, ()):
                continue
            if skills:
                have = self.directory[agent_id].skills
                if any(have.get(s, 0) < level for s, level in skills.items()):
                    continue
            out.append(agent_id)
        return out

    def call_of(self, agent_id: str) -> str | None:
        st = self._status.get(agent_id)
        return st.call_id if st is not None else None

    # --- changes --------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def claimant(self, side: str, claim: Claim) -> None:
        """`side` (inbound, outbound) wants free agents: `claim` is asked, in blending order,
        each time one becomes ready."""
        if side not in (INBOUND, OUTBOUND):
            raise ValueError(f"unknown side {side!r}")
        self._claims[side] = claim

    def apply(self, agent_id: str, what: Input, *, why: str = "") -> AgentStatus:
        """Move the agent; Refused (nothing changes) when their state does not allow it."""
        before = self._status[agent_id]
        now = self.clock()
        after = apply(before, what, now)
        self._status[agent_id] = after
        if isinstance(what, FinishCall) and before.state == "on_call":
            side = OUTBOUND if before.owner.startswith("dialer") else INBOUND
            self._ledger[agent_id] = self._ledger.get(agent_id, Ledger()).add(
                side, now - before.since)
        change = AgentChanged(agent_id, before, after, why)
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one listener's bug must not cost the others the change
                self.log.exception("pool.listener_failed", agent=agent_id, state=after.state)
        if after.state == "ready":
            self.offer(agent_id)
        return after

    def try_apply(self, agent_id: str, what: Input, *, why: str = "") -> AgentStatus | None:
        """`apply`, or None when the agent's state does not allow it (they moved on)."""
        try:
            return self.apply(agent_id, what, why=why)
        except Refused:
            return None

    def reserve(self, agent_id: str, call_id: str, owner: str) -> bool:
        return self.try_apply(agent_id, Reserve(call_id, owner)) is not None

    def connect(self, agent_id: str, call_id: str, owner: str) -> bool:
        return self.try_apply(agent_id, Connect(call_id, owner)) is not None

    def release(self, agent_id: str, call_id: str | None = None) -> bool:
        """Free a reserved or talking agent (only if still on `call_id`, when given)."""
        st = self._status[agent_id]
        if call_id is not None and st.call_id != call_id:
            return False
        return self.try_apply(agent_id, Release()) is not None

    def offer(self, agent_id: str) -> bool:
        """Offer a ready agent to the sides that want agents; True if one took them."""
        if self._status[agent_id].state != "ready":
            return False
        sides = [s for s in (INBOUND, OUTBOUND) if s in self._claims]
        order = claim_order(sides, self.blend.get(agent_id), self._ledger.get(agent_id, Ledger()))
        for side in order:
            if self._claims[side](agent_id):
                return True
            if self._status[agent_id].state != "ready":
                return True
        return False

