"""The recordings index in the store: segments, QA scores and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from core.models import AuditRow, Interaction, RecordingRow, RecordingScore
from core.store import Journal, Store, ts


@dataclass(frozen=True, slots=True)
class Filters:
    """What `centralita recordings list` narrows by; None: any."""

    day: str | None = None  # YYYY-MM-DD (UTC)
    agent: str | None = None
    queue: str | None = None
    number: str | None = None
    disposition: str | None = None
    status: str | None = None
    limit: int = 100


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: ts(v) if k.endswith("_at") and isinstance(v, int | float) else v
            for k, v in fields.items()}


class RecordingIndex:
    def __init__(self, store: Store) -> None:
        self.store = store

    # --- writes the recorder queues on the journal (retried until they land) ---------

    def submit_start(self, journal: Journal, fields: dict[str, Any]) -> None:
        async def op() -> None:
            async with self.store.session.begin() as s:
                found = await s.scalar(select(RecordingRow).where(
                    RecordingRow.interaction_id == fields["interaction_id"],
                    RecordingRow.segment == fields["segment"]))
                if found is None:  # a retried write may have landed already
                    s.add(RecordingRow(**{"paused": [], "note": "", "legal_hold": False,
                                          **_times(fields)}))

        journal.submit(f"recording {fields['interaction_id']}/{fields['segment']}", op)

    def submit_update(self, journal: Journal, call_id: str, segment: int,
                      fields: dict[str, Any]) -> None:
        async def op() -> None:
            async with self.store.session.begin() as s:
                row = await s.scalar(select(RecordingRow).where(
                    RecordingRow.interaction_id == call_id, RecordingRow.segment == segment))
                if row is None:
                    return
                for key, value in _times(fields).items():
                    setattr(row, key, value)

        journal.submit(f"recording update {call_id}/{segment}", op)

    def submit_audit(self, journal: Journal, at: float, actor: str, action: str, target: str, *,
                     allowed: bool, detail: dict[str, Any]) -> None:
        async def op() -> None:
            await self.audit(at, actor, action, target, allowed=allowed, detail=detail)

        journal.submit(f"audit {actor} {action}", op)

    # --- direct (the CLI, retention) --------------------------------------------------

    async def audit(self, at: float, actor: str, action: str, target: str, *, allowed: bool,
                    detail: dict[str, Any]) -> None:
        async with self.store.session.begin() as s:
            s.add(AuditRow(at=ts(at), actor=actor, action=action, target=target[:200],
                           allowed=allowed, detail=detail))

    async def audit_log(self, limit: int = 100) -> list[AuditRow]:
        async with self.store.session() as s:
            return list(await s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)))

    async def get(self, rec_id: int) -> RecordingRow | None:
        async with self.store.session() as s:
            return await s.get(RecordingRow, rec_id)

    async def of_call(self, call_id: str) -> list[RecordingRow]:
        async with self.store.session() as s:
            return list(await s.scalars(select(RecordingRow)
                                        .where(RecordingRow.interaction_id == call_id)
                                        .order_by(RecordingRow.segment)))

    async def find(self, f: Filters) -> list[RecordingRow]:
        q = select(RecordingRow).order_by(RecordingRow.started_at.desc()).limit(f.limit)
        if f.day:
            from datetime import UTC, datetime, timedelta

            start = datetime.strptime(f.day, "%Y-%m-%d").replace(tzinfo=UTC)
            q = q.where(RecordingRow.started_at >= start,
                        RecordingRow.started_at < start + timedelta(days=1))
        if f.agent:
            q = q.where(RecordingRow.agent == f.agent)
        if f.queue:
            q = q.where(RecordingRow.queue == f.queue)
        if f.number:
            q = q.where(RecordingRow.customer_number == f.number)
        if f.status:
            q = q.where(RecordingRow.status == f.status)
        if f.disposition:
            q = q.join(Interaction, Interaction.id == RecordingRow.interaction_id).where(
                Interaction.disposition == f.disposition)
        async with self.store.session() as s:
            return list(await s.scalars(q))

    async def call_over(self, call_id: str) -> bool:
        """The recording's call has ended (or has no row at all)."""
        async with self.store.session() as s:
            row = await s.get(Interaction, call_id)
            return row is None or row.ended_at is not None

    async def unfinished(self) -> list[RecordingRow]:
        """Segments still marked `recording`."""
        async with self.store.session() as s:
            return list(await s.scalars(select(RecordingRow)
                                        .where(RecordingRow.status == "recording")))

    async def purgeable(self) -> Sequence[RecordingRow]:
        async with self.store.session() as s:
            return list(await s.scalars(select(RecordingRow).where(
                RecordingRow.status.in_(("complete", "missing")),
                RecordingRow.legal_hold.is_(False))))

    async def mark_deleted(self, rec_id: int, at: float) -> None:
        async with self.store.session.begin() as s:
            row = await s.get(RecordingRow, rec_id)
            if row is not None:
                row.status = "deleted"
                row.deleted_at = ts(at)

    async def set_status(self, rec_id: int, status: str, note: str) -> None:
        async with self.store.session.begin() as s:
            row = await s.get(RecordingRow, rec_id)
            if row is not None:
                row.status, row.note = status, note[:300]

    async def set_legal_hold(self, rec_id: int, hold: bool) -> bool:
        async with self.store.session.begin() as s:
            row = await s.get(RecordingRow, rec_id)
            if row is None:
                return False
            row.legal_hold = hold
            return True

    async def add_score(self, rec: RecordingRow, evaluator: str, form: str,
                        answers: dict[str, str], percent: float, passed: bool,
                        failed_critical: list[str], at: float) -> int:
        async with self.store.session.begin() as s:
            row = RecordingScore(recording_id=rec.id, agent=rec.agent, evaluator=evaluator,
                                 form=form, answers=answers, percent=percent, passed=passed,
                                 failed_critical=failed_critical, at=ts(at))
            s.add(row)
            await s.flush()
            return int(row.id)

    async def scores(self, rec_id: int) -> list[RecordingScore]:
        async with self.store.session() as s:
            return list(await s.scalars(select(RecordingScore)
                                        .where(RecordingScore.recording_id == rec_id)
                                        .order_by(RecordingScore.id)))

    async def agent_averages(self) -> list[tuple[str, int, float, int]]:
        """(agent, evaluations, average percent, passed) per agent."""
        async with self.store.session() as s:
            rows = await s.execute(
                select(RecordingScore.agent, func.count(RecordingScore.id),
                       func.avg(RecordingScore.percent),
                       func.sum(func.cast(RecordingScore.passed, RecordingScore.id.type)))
                .group_by(RecordingScore.agent).order_by(RecordingScore.agent))
            return [(a or "", int(n), round(float(avg), 1), int(p or 0)) for a, n, avg, p in rows]
