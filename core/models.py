"""SQL models (SQLAlchemy 2). Same schema on SQLite and PostgreSQL; Alembic migrates it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(64), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(500), default="")


class Interaction(Base):
    """One row per call: times, routing, outcome."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_queued_at", "queued_at"),
                      Index("ix_interactions_caller_entered", "caller_num", "entered_at"),
                      Index("ix_interactions_agent_connected", "agent", "connected_at"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the call_id
    kind: Mapped[str] = mapped_column(String(16), default="inbound")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    caller_num: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    dnis: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(200), default="")
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    wait_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    talk_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    wrapup_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ticket_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: what the call carries: IVR path and captured fields, routing needs (skills, priority)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: the agent gave no disposition: the queue's default was used (worth a supervisor's look)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    interaction_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: open, resolved, closed, requires_follow_up
    status: Mapped[str] = mapped_column(String(32), default="open")
    subject: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[int] = mapped_column(Integer, default=1)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CallEventRow(Base):
    """Append-only: everything that happened on a call, in order (`seq` per call)."""

    __tablename__ = "call_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(32), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_call_events_call_seq", "call_id", "seq", unique=True),
                      Index("ix_call_events_kind_at", "kind", "at"))


class OutboxRow(Base):
    """Messages bound for MQTT, written in the same transaction as what they announce."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True,
                                                          index=True)


class AgentStateChange(Base):
    """Every agent state change with its time: occupancy, ACW and pause time come from here."""

    __tablename__ = "agent_state_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")
    call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    __table_args__ = (Index("ix_agent_state_changes_agent_at", "agent_id", "at"),)


class CallbackRow(Base):
    """A dial-back the engine owes a customer: a caller who left a number keeping their
    place in a queue (`entered_at` is that place), or a follow-up due at `due_at`."""

    __tablename__ = "callbacks"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    origin_call_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    number: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: pending (waiting its turn or its time), dialing, done, failed (out of attempts)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    result: Mapped[str] = mapped_column(String(64), default="")
    last_call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecordingRow(Base):
    """One recording segment (a call has one per agent leg: a transfer starts another)."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(String(32))
    segment: Mapped[int] = mapped_column(Integer, default=1)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    policy: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: [{"start": epoch s, "end": epoch s|null, "reason": "agent"|"card_data"}]: the gaps
    paused: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(80), nullable=True)  # sha256:<hex>
    #: recording, complete, missing, failed, deleted
    status: Mapped[str] = mapped_column(String(16), default="recording", index=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_recordings_interaction_segment", "interaction_id", "segment",
                            unique=True),)


class RecordingScore(Base):
    """A QA evaluation of a recording by one evaluator with one form."""

    __tablename__ = "recording_scores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    evaluator: Mapped[str] = mapped_column(String(64))
    form: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    percent: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    failed_critical: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Who touched recordings or listened to calls, and when (append-only)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200), default="")
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketEvent(Base):
    """A ticket's history: every interaction that opened, updated or escalated it."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(32))
    interaction_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(Text, default="")


class CustomerChange(Base):
    """A customer's data changed during a call: who, when, what it was."""

    __tablename__ = "customer_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    interaction_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class EmailRow(Base):
    """An email the engine wants sent (survey invitations). Sending is a separate step
    that reads unsent rows and marks them; the engine itself never talks SMTP."""

    __tablename__ = "email_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    interaction_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True,
                                                     index=True)


class Lead(Base):
    """Someone a campaign may call. `dial_rank` orders the hopper's refill from an index:
    0 a callback owed, 1 dialable (new, or a retry), 9 not dialable now (dialing, done,
    do-not-call, out of attempts)."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(32))
    list_name: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[str] = mapped_column(String(20))  # E.164
    zones: Mapped[str] = mapped_column(String(200))  # the possible time zones, "|"-joined
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # name, account, ...
    #: new, retry, callback, dialing, done, dnc, exhausted
    state: Mapped[str] = mapped_column(String(16), default="new")
    dial_rank: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: attempts per outcome (busy, no_answer, ...): each outcome's retry rule has its maximum
    tries: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # dialable from
    last_outcome: Mapped[str] = mapped_column(String(32), default="")
    last_call_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a callback's agent
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_leads_campaign_number", "campaign", "number", unique=True),
        # The hopper's refill: per zone group, the highest priority first, then the oldest.
        Index("ix_leads_hopper", "campaign", "dial_rank", "zones", priority.desc(), "next_at"),
        Index("ix_leads_campaign_state", "campaign", "state"),
    )


class LeadZones(Base):
    """The zone groups a campaign's leads are in (a handful): the hopper asks each one that
    is inside calling hours for leads, without scanning the leads for them."""

    __tablename__ = "lead_zones"
    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    zones: Mapped[str] = mapped_column(String(200), primary_key=True)


class LeadAttempt(Base):
    """One dial of a lead: how it went, for retries, the abandon rate and the what-if
    simulator's history."""

    __tablename__ = "lead_attempts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    campaign: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # dialled
    #: answered (a person reached an agent), busy, no_answer, congestion, failed, machine,
    #: dropped (a person with no agent in 2 s: abandoned), hung_up (before an agent), ...
    outcome: Mapped[str] = mapped_column(String(32), default="")
    human: Mapped[bool] = mapped_column(Boolean, default=False)  # a person answered
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    amd_status: Mapped[str] = mapped_column(String(16), default="")
    amd_cause: Mapped[str] = mapped_column(String(64), default="")
    ring_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    amd_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    dead_air_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)  # answer to agent
    talk_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    wrapup_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (Index("ix_lead_attempts_campaign_at", "campaign", "at"),)


class DncEntry(Base):
    """A number not to be called: for one campaign, or for all (`campaign` empty)."""

    __tablename__ = "dnc"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(String(16))  # import, cli, agent, opt_out
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_dnc_number_campaign", "number", "campaign", unique=True),)


class WebLogin(Base):
    """A person's web password, hashed (set with `centralita passwd`; never in the YAML)."""

    __tablename__ = "web_logins"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
