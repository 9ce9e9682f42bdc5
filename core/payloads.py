"""What the engine publishes on MQTT: one versioned model per message kind.

Every payload carries `v` (its version). Times, everywhere, are seconds since 1970 in UTC
(a JSON number with fractions: `at`, `since`, `started_at`, ...), one format for every
consumer to parse; snapshots (retained) carry the `at` they were taken, so a reader can
tell a fresh figure from an old one. `centralita schema mqtt`
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

    v: Literal[2] = 2  # 2: `at` is epoch seconds like every other time (1: ISO 8601)
    call_id: str
    seq: int
    kind: str
    at: float
    data: dict[str, Any]


class EngineStatus(Payload):
    """`engine/status` (retained): online with the version and start time while the engine
    runs; offline when it stops (said by the engine) or when its link dies (the broker's
    last will). A wallboard or desktop that sees offline knows the rest is not live."""

    v: Literal[1] = 1
    status: Literal["online", "offline"]
    version: str
    started_at: float
    at: float
    reason: str = ""  # offline: stopped, connection lost


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


class LeadOffer(Payload):
    """`agents/{agent}/preview`: preview dialing offers the agent a lead; they answer with
    `accept_lead` or `skip_lead` before `expires_at` (epoch seconds). `lead: null` withdraws
    the offer (taken, skipped, timed out)."""

    v: Literal[1] = 1
    agent: str
    campaign: str
    lead: int | None
    number: str
    fields: dict[str, Any]
    attempts: int
    expires_at: float


class AbandonDay(Payload):
    day: str  # YYYY-MM-DD (UTC)
    humans: int  # live answers
    abandoned: int
    pct: float


class CampaignStats(Payload):
    """`campaigns/{campaign}/stats` (retained, latest wins): how a campaign is doing."""

    v: Literal[1] = 1
    campaign: str
    at: float
    status: str  # running, paused, stopped
    why: str  # what the status or the pacing says (e.g. why it stopped)
    mode: str
    ratio: float | None
    dial_level: float  # lines being dialled per agent ready
    in_flight: int  # calls dialled, not yet answered or given up
    hopper: int  # leads ready to dial in memory
    leads: dict[str, int]  # leads left by state (new, retry, callback, done, dnc, ...)
    agents: dict[str, int]  # the campaign's agents by state
    contacts_per_hour: float  # people reached an agent, last hour
    occupancy: float  # talk + wrap-up over logged-in time of its agents, today
    answer_rate: float  # answered per dial, recent
    machine_rate: float  # machines per answer, recent
    abandon_pct_today: float
    abandon_pct_30d: float
    abandon_cap: float
    abandon_days: list[AbandonDay]
    dead_air_ms: int | None  # median, answer to agent, today's connected calls


class Reply(Payload):
    """`{agents|queues|campaigns}/{id}/replies`: the answer to one command."""

    v: Literal[1] = 1
    ok: bool
    error: str | None
    request: str | None = None
    action: str | None = None


PUBLISHED: dict[str, type[Payload]] = {
    "engine_status": EngineStatus, "call_events": CallEvent, "agent_state": AgentState, "agent_presence": Presence,
    "agent_screenpop": ScreenPop, "agent_wrapup": WrapupCodes, "queue_stats": QueueStats,
    "agent_preview": LeadOffer, "campaign_stats": CampaignStats,
}
