"""The SQL store: engine setup, migrations, and the writes the engine makes.

Writes go through `Journal`: one queue, one writer task, each operation retried with
backoff until it lands, so a locked SQLite file or a PostgreSQL restart delays call
records but never drops them (while the process lives; what it had not yet written when
killed is the last few events, never a half-written row: each operation is one
transaction).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.models import (
    AgentStateChange,
    CallbackRow,
    CallEventRow,
    Customer,
    Interaction,
    OutboxRow,
    Ticket,
    TicketEvent,
)
from core.payloads import CallEvent

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What routing and the IVR may know about a caller."""

    id: int
    number: str
    name: str
    account: str
    language: str | None
    tags: tuple[str, ...]
    open_ticket: bool


def _run_upgrade(conn: Connection) -> None:
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


class Store:
    def __init__(self, url: str, *, busy_timeout: float = 5.0) -> None:
        self.url = url
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.session: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False)

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_upgrade)

    async def close(self) -> None:
        await self.engine.dispose()

    # --- writes (each one transaction) ----------------------------------------------

    async def start_interaction(self, call_id: str, *, kind: str, caller_num: str,
                                caller_name: str, dnis: str, channel: str, at: float) -> int | None:
        async with self.session.begin() as s:
            if await s.get(Interaction, call_id) is not None:
                return None  # adopted again after a reconnect
            customer_id = await self._customer_id(s, caller_num, caller_name, at)
            s.add(Interaction(id=call_id, kind=kind, customer_id=customer_id,
                              caller_num=caller_num, caller_name=caller_name, dnis=dnis,
                              channel=channel, entered_at=ts(at)))
            return customer_id

    async def _customer_id(self, s: AsyncSession, number: str, name: str, at: float) -> int | None:
        if not number:
            return None
        found = await s.scalar(select(Customer.id).where(Customer.number == number))
        if found is not None:
            return int(found)
        customer = Customer(number=number, name=name, account="", notes="", tags=[],
                            created_at=ts(at))
        s.add(customer)
        await s.flush()
        return customer.id

    async def answer_interaction(self, call_id: str, at: float) -> None:
        async with self.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is not None and row.answered_at is None:
                row.answered_at = ts(at)
                row.wait_s = round(at - row.entered_at.timestamp(), 3)

    async def end_interaction(self, call_id: str, at: float, *, cause: int, outcome: str) -> None:
        async with self.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is None or row.ended_at is not None:
                return
            row.ended_at = ts(at)
            row.hangup_cause = cause
            row.outcome = row.outcome or outcome
            talking_since = row.connected_at or row.answered_at
            if talking_since is not None:
                row.talk_s = round(at - talking_since.timestamp(), 3)
            if row.connected_at is None and row.queued_at is not None:
                row.wait_s = round(at - row.queued_at.timestamp(), 3)  # waited, never answered

    async def add_event(self, call_id: str, seq: int, kind: str, at: float,
                        data: dict[str, Any], topic: str | None) -> None:
        """A call_events row and, when `topic` is given, its outbox message, atomically."""
        async with self.session.begin() as s:
            s.add(CallEventRow(call_id=call_id, seq=seq, kind=kind, at=ts(at), data=data))
            if topic is not None:
                payload = CallEvent(call_id=call_id, seq=seq, kind=kind, at=at, data=data)
                s.add(OutboxRow(topic=topic, payload=payload.encode(),
                                created_at=ts(at)))

    async def merge_interaction_data(self, call_id: str, data: dict[str, Any],
                                     language: str | None, outcome: str | None = None) -> None:
        async with self.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is None:
                return
            row.data = {**(row.data or {}), **data}
            if language:
                row.language = language
            if outcome:
                row.outcome = outcome

    async def add_customer(self, number: str, *, name: str = "", account: str = "",
                           language: str | None = None, tags: list[str] | None = None,
                           at: float = 0.0) -> int:
        async with self.session.begin() as s:
            customer = Customer(number=number, name=name, account=account, notes="",
                                language=language, tags=list(tags or []), created_at=ts(at))
            s.add(customer)
            await s.flush()
            return int(customer.id)

    async def add_ticket(self, customer_id: int, *, status: str = "open", subject: str = "",
                         at: float = 0.0, interaction_id: str | None = None) -> int:
        async with self.session.begin() as s:
            ticket = Ticket(customer_id=customer_id, status=status, subject=subject,
                            interaction_id=interaction_id, created_at=ts(at), updated_at=ts(at))
            s.add(ticket)
            await s.flush()
            return int(ticket.id)

    async def update_interaction(self, call_id: str, **fields: Any) -> None:
        """Set fields on an interaction; float times for *_at fields."""
        async with self.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is None:
                return
            for key, value in fields.items():
                setattr(row, key, ts(value) if key.endswith("_at") and value is not None else value)

    async def add_agent_state(self, agent_id: str, state: str, reason: str, call_id: str | None,
                              at: float, topic: str | None, payload: str) -> None:
        async with self.session.begin() as s:
            s.add(AgentStateChange(agent_id=agent_id, state=state, reason=reason,
                                   call_id=call_id, at=ts(at)))
            if topic is not None:
                s.add(OutboxRow(topic=topic, payload=payload, created_at=ts(at)))

    async def save_callback(self, callback_id: str, at: float, **fields: Any) -> None:
        """Create the callback row, or set `fields` on it (float times for *_at fields)."""
        values = {k: ts(v) if k.endswith("_at") and v is not None else v
                  for k, v in fields.items()}
        async with self.session.begin() as s:
            row = await s.get(CallbackRow, callback_id)
            if row is None:
                s.add(CallbackRow(id=callback_id, updated_at=ts(at), **values))
                return
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = ts(at)

    async def add_outbox(self, topic: str, payload: str, at: float) -> None:
        async with self.session.begin() as s:
            s.add(OutboxRow(topic=topic, payload=payload, created_at=ts(at)))

    async def customer_history(self, number: str, limit: int = 5) -> dict[str, Any]:
        """Previous interactions and open tickets of the customer with this number."""
        if not number:
            return {"previous_interactions": [], "open_tickets": [], "ticket_history": []}
        async with self.session() as s:
            customer_id = await s.scalar(select(Customer.id).where(Customer.number == number))
            if customer_id is None:
                return {"previous_interactions": [], "open_tickets": [], "ticket_history": []}
            rows = await s.scalars(select(Interaction).where(
                Interaction.customer_id == customer_id, Interaction.ended_at.is_not(None))
                .order_by(Interaction.entered_at.desc()).limit(limit))
            tickets = list(await s.scalars(select(Ticket).where(
                Ticket.customer_id == customer_id,
                Ticket.status.in_(("open", "requires_follow_up")))))
            history = list(await s.scalars(
                select(TicketEvent).join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(Ticket.customer_id == customer_id)
                .order_by(TicketEvent.id.desc()).limit(3 * limit)))
            return {
                "previous_interactions": [
                    {"id": r.id, "at": r.entered_at.isoformat(), "queue": r.queue,
                     "agent": r.agent, "outcome": r.outcome, "disposition": r.disposition,
                     "notes": r.notes}
                    for r in rows],
                "open_tickets": [{"id": t.id, "status": t.status, "subject": t.subject,
                                  "tier": t.tier} for t in tickets],
                "ticket_history": [{"ticket": e.ticket_id, "at": e.at.isoformat(),
                                    "status": e.status, "agent": e.agent, "tier": e.tier,
                                    "disposition": e.disposition, "note": e.note}
                                   for e in history],
            }

    # --- outbox ---------------------------------------------------------------------

    async def pending_outbox(self, limit: int = 100) -> list[tuple[int, str, str]]:
        async with self.session() as s:
            rows = await s.execute(select(OutboxRow.id, OutboxRow.topic, OutboxRow.payload)
                                   .where(OutboxRow.published_at.is_(None))
                                   .order_by(OutboxRow.id).limit(limit))
            return [(int(r[0]), r[1], r[2]) for r in rows]

    async def close_unseen(self, live: set[str], at: float) -> list[str]:
        """Calls the store has open that Asterisk no longer has (they ended while the engine
        was down or stopping): closed at the time they were last seen, with the outcome
        `engine_stopped` when they had none, and a `call.ended` event that says so."""
        async with self.session.begin() as s:
            rows = list(await s.scalars(select(Interaction).where(Interaction.ended_at.is_(None))))
            closed: list[str] = []
            for row in rows:
                if row.id in live:
                    continue
                last = await s.scalar(select(func.max(CallEventRow.at))
                                      .where(CallEventRow.call_id == row.id))
                seen = last or row.entered_at
                seen_at = seen.timestamp() if seen.tzinfo else seen.replace(tzinfo=UTC).timestamp()
                row.ended_at = ts(seen_at)
                row.outcome = row.outcome or "engine_stopped"
                seq = await s.scalar(select(func.max(CallEventRow.seq))
                                     .where(CallEventRow.call_id == row.id))
                s.add(CallEventRow(call_id=row.id, seq=(seq or 0) + 1, kind="call.ended",
                                   at=ts(at), data={"outcome": "engine_stopped",
                                                    "last_seen": round(seen_at, 3)}))
                closed.append(row.id)
            return closed

    async def outbox_backlog(self) -> int:
        """Messages stored and not yet published (a metric)."""
        async with self.session() as s:
            stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.published_at.is_(None))
            return int((await s.execute(stmt)).scalar_one())

    async def mark_published(self, ids: list[int], at: float) -> None:
        if not ids:
            return
        async with self.session.begin() as s:
            await s.execute(update(OutboxRow).where(OutboxRow.id.in_(ids))
                            .values(published_at=ts(at)))

    # --- reads ----------------------------------------------------------------------

    async def customer_profile(self, number: str) -> CustomerProfile | None:
        if not number:
            return None
        async with self.session() as s:
            c = await s.scalar(select(Customer).where(Customer.number == number))
            if c is None:
                return None
            open_ticket = await s.scalar(select(Ticket.id).where(
                Ticket.customer_id == c.id, Ticket.status.in_(("open", "follow_up"))).limit(1))
            return CustomerProfile(c.id, c.number, c.name, c.account, c.language,
                                   tuple(c.tags or ()), open_ticket is not None)

    async def account_exists(self, account: str) -> bool:
        async with self.session() as s:
            return await s.scalar(select(Customer.id).where(Customer.account == account)
                                  .limit(1)) is not None

    async def interaction(self, call_id: str) -> Interaction | None:
        async with self.session() as s:
            return await s.get(Interaction, call_id)

    async def events(self, call_id: str) -> list[CallEventRow]:
        async with self.session() as s:
            rows = await s.scalars(select(CallEventRow).where(CallEventRow.call_id == call_id)
                                   .order_by(CallEventRow.seq))
            return list(rows)

    async def callbacks(self, *, status: str | None = None) -> list[CallbackRow]:
        async with self.session() as s:
            query = select(CallbackRow).order_by(CallbackRow.entered_at)
            if status is not None:
                query = query.where(CallbackRow.status == status)
            return list(await s.scalars(query))

    async def max_seq(self, call_id: str) -> int:
        async with self.session() as s:
            rows = await s.scalars(select(CallEventRow.seq).where(CallEventRow.call_id == call_id))
            return max(rows, default=0)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


Operation = Callable[[], Awaitable[None]]


class Journal:
    """Serialises store writes; retries each until it lands; wakes the outbox publisher."""

    def __init__(self, store: Store, *, retry_initial: float = 0.2, retry_max: float = 5.0) -> None:
        self.store = store
        self.queue: asyncio.Queue[tuple[str, Operation, bool]] = asyncio.Queue()
        self.outbox_ready = asyncio.Event()
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.written = 0
        self.failures = 0
        #: told how long each write took, retries included (the metrics' histogram)
        self.observers: list[Callable[[float], None]] = []
        self.log = structlog.get_logger("journal")

    def submit(self, what: str, op: Operation, *, outbox: bool = False) -> None:
        self.queue.put_nowait((what, op, outbox))

    async def run(self) -> None:
        while True:
            what, op, outbox = await self.queue.get()
            started = time.perf_counter()
            delay = self.retry_initial
            while True:
                try:
                    await op()
                    break
                except (OperationalError, DBAPIError, OSError) as exc:
                    self.failures += 1
                    self.log.warning("store.write_retry", what=what, error=str(exc)[:200],
                                     retry_in=delay)
                    await asyncio.sleep(delay)
                    delay = min(self.retry_max, delay * 2)
                except Exception:
                    # A bug or a constraint violation: retrying cannot help; keep going.
                    self.log.exception("store.write_failed", what=what)
                    break
            self.written += 1
            took = time.perf_counter() - started
            for observe in self.observers:
                observe(took)
            self.queue.task_done()
            if outbox:
                self.outbox_ready.set()

    async def drain(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.queue.join(), timeout)
