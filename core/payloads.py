"""What the engine publishes on MQTT: one versioned model per message kind.

Every payload carries `v` (its version). Times: `at` on call events is ISO 8601 in UTC;
agent and queue snapshots carry epoch seconds (`at`, `since`). `centralita schema mqtt`
prints these models as JSON Schema with the topics they go to (core/topics.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        return self.model_dump_json()


class CallEvent(Payload):
    """`calls/{call_id}/events`: one per call event, in `seq` order (de-duplicate by
    call_id + seq: around a crash a message may come twice)."""

    v: Literal[1] = 1
    call_id: str
    seq: int
    kind: str
    at: str
    data: dict[str, Any]


class AgentState(Payload):
    """`agents/{agent}/state`: every state change of an agent."""

    v: Literal[1] = 1
    agent: str
    state: str
    reason: str
    call_id: str | None
    at: float


class Presence(Payload):
    """`agents/{agent}/presence` (retained): what colleagues see (free, busy, away, offline)."""

    v: Literal[1] = 1
    agent: str
    name: str
    presence: str
    state: str
    reason: str
    since: float


class ScreenPop(Payload):
    """`agents/{agent}/screenpop`: what the agent's desktop shows while the phone rings."""

    v: Literal[1] = 1
    call_id: str
    agent: str
    queue: str
    callback: bool
    wait: float
    caller_num: str
    customer: dict[str, Any] | None
    ivr: dict[str, Any]
    previous_interactions: list[dict[str, Any]]
    open_tickets: list[dict[str, Any]]
    ticket_history: list[dict[str, Any]]
    campaign: str | None = None
    lead: dict[str, Any] | None = None


class WrapupCode(Payload):
    code: str
    notes: str
    ticket: str | None
    template: str | None


class WrapupCodes(Payload):
    """`agents/{agent}/wrapup`: the codes an agent may close the call with, templates filled."""

    v: Literal[1] = 1
    call_id: str
    agent: str
    queue: str
    default: str
    codes: list[WrapupCode]


class QueueToday(Payload):
    day: str
    entered: int
    answered: int
    abandoned: int
    overflowed: int
    callbacks: int
    service_level: float | None
    asa: float | None


class QueueStats(Payload):
    """`queues/{queue}/stats` (retained, latest wins): a wallboard's figures for a queue."""

    v: Literal[1] = 1
    queue: str
    at: float
    waiting: int
    longest_wait: float
    callbacks_waiting: int
    estimated_wait: int
    agents: dict[str, int]
    today: QueueToday


class Reply(Payload):
    """`{agents|queues|campaigns}/{id}/replies`: the answer to one command."""

    v: Literal[1] = 1
    ok: bool
    error: str | None
    request: str | None = None
    action: str | None = None


PUBLISHED: dict[str, type[Payload]] = {
    "call_events": CallEvent, "agent_state": AgentState, "agent_presence": Presence,
    "agent_screenpop": ScreenPop, "agent_wrapup": WrapupCodes, "queue_stats": QueueStats,
}
