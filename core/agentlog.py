"""Every agent state change, kept and told: a row in agent_state_changes (with its
`agents/{id}/state` message, in one transaction), the retained `agents/{id}/presence`
colleagues see, and a log line."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from core.agentstate import PRESENCE
from core.payloads import AgentState, Presence
from core.people import Directory
from core.pool import AgentChanged
from core.store import Journal, Store
from core.topics import Topics


class AgentLog:
    def __init__(self, directory: Directory, store: Store, journal: Journal,
                 topics: Topics | None, live: Callable[[str, str], None] | None) -> None:
        self.directory = directory
        self.store = store
        self.journal = journal
        self.topics = topics
        self.live = live
        self.log = structlog.get_logger("agents")

    def changed(self, change: AgentChanged) -> None:
        before, status = change.before, change.after
        if before.state == status.state and before.reason == status.reason \
                and before.call_id == status.call_id:
            return  # not a change of state (wrap-up extended): nothing to record
        agent_id = change.agent_id
        reason = status.reason or change.why
        self.log.info("agent.state", agent=agent_id, state=status.state, reason=reason,
                      call_id=status.call_id)
        topics = self.topics
        if self.live is not None and topics is not None:
            agent = self.directory.get(agent_id)
            self.live(topics.agent_presence(agent_id), Presence(
                agent=agent_id, name=agent.name if agent else "",
                presence=PRESENCE[status.state], state=status.state, reason=status.reason,
                since=status.since).encode())
        topic = topics.agent_state(agent_id) if topics is not None else None
        payload = AgentState(agent=agent_id, state=status.state, reason=reason,
                             call_id=status.call_id, at=status.since).encode()
        store = self.store

        async def op() -> None:
            await store.add_agent_state(agent_id, status.state, reason, status.call_id,
                                        status.since, topic, payload)

        self.journal.submit(f"agent state {agent_id}", op, outbox=topic is not None)
