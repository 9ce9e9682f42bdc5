"""The dialer's tables: leads, their attempts, and the do-not-call list.

Imports are one transaction (nothing stored half-way), in batches; the hopper is refilled
from an index (campaign, rank, zone group, priority, time) with one small query per zone
group that is inside calling hours, so a refill costs the same with a million leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from core.models import DncEntry, Lead, LeadAttempt, LeadZones
from core.store import Store, ts
from dialer.leads import ParsedLead
from dialer.outcomes import RANK_CALLBACK, RANK_DIALABLE, RANK_NONE

BATCH = 1000


@dataclass(frozen=True, slots=True)
class ImportResult:
    new: int
    updated: int
    existing: int  # already in the campaign, left as they were


@dataclass(frozen=True, slots=True)
class LeadRow:
    """A lead as the hopper holds it."""

    id: int
    number: str
    zones: str
    priority: int
    rank: int  # 0 callback, 1 new or retry
    attempts: int
    tries: dict[str, int]  # attempts per outcome
    fields: dict[str, Any]
    agent: str | None
    next_at: float


@dataclass(frozen=True, slots=True)
class AbandonFigures:
    humans: int  # live answers
    abandoned: int

    @property
    def percent(self) -> float:
        return 100.0 * self.abandoned / self.humans if self.humans else 0.0


class LeadStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # --- import ---------------------------------------------------------------------

    async def import_leads(self, campaign: str, list_name: str, leads: Sequence[ParsedLead], *,
                           update_existing: bool, at: float) -> ImportResult:
        now = ts(at)
        new = updated = existing = 0
        async with self.store.session.begin() as s:
            have = set(await s.scalars(select(LeadZones.zones).where(
                LeadZones.campaign == campaign)))
            zones = sorted({x.zones for x in leads} - have)
            if zones:
                await s.execute(insert(LeadZones), [{"campaign": campaign, "zones": z}
                                                    for z in zones])
            for start in range(0, len(leads), BATCH):
                chunk = leads[start:start + BATCH]
                found = set(await s.scalars(select(Lead.number).where(
                    Lead.campaign == campaign, Lead.number.in_([x.number for x in chunk]))))
                fresh = [x for x in chunk if x.number not in found]
                if fresh:
                    await s.execute(insert(Lead), [{
                        "campaign": campaign, "list_name": list_name, "number": x.number,
                        "zones": x.zones, "fields": x.fields, "state": "new",
                        "dial_rank": RANK_DIALABLE, "priority": x.priority, "attempts": 0,
                        "tries": {}, "next_at": now, "last_outcome": "", "created_at": now,
                        "updated_at": now} for x in fresh])
                    new += len(fresh)
                again = [x for x in chunk if x.number in found]
                if again and update_existing:
                    for x in again:
                        await s.execute(update(Lead).where(
                            Lead.campaign == campaign, Lead.number == x.number).values(
                            fields=x.fields, zones=x.zones, priority=x.priority,
                            list_name=list_name, updated_at=now))
                    updated += len(again)
                else:
                    existing += len(again)
        return ImportResult(new, updated, existing)

    # --- the hopper -----------------------------------------------------------------

    async def zone_keys(self, campaign: str) -> list[str]:
        """The zone groups of the campaign's leads (kept on import: a few rows)."""
        async with self.store.session() as s:
            return list(await s.scalars(select(LeadZones.zones).where(
                LeadZones.campaign == campaign)))

    async def dialable(self, campaign: str, *, lists: Sequence[str], zone_keys: Iterable[str],
                       at: float, limit: int, max_attempts: int,
                       exclude: Iterable[int] = ()) -> list[LeadRow]:
        """Leads to dial now, best first: callbacks due, then by priority and age; only in
        the given (open) zone groups, under the attempts limit, not held already."""
        now = ts(at)
        skip = set(exclude)
        out: list[LeadRow] = []
        async with self.store.session() as s:
            for rank in (RANK_CALLBACK, RANK_DIALABLE):
                for key in zone_keys:
                    q = select(Lead.id, Lead.number, Lead.zones, Lead.priority, Lead.dial_rank,
                               Lead.attempts, Lead.tries, Lead.fields, Lead.agent,
                               Lead.next_at).where(
                        Lead.campaign == campaign, Lead.dial_rank == rank, Lead.zones == key,
                        Lead.next_at <= now, Lead.attempts < max_attempts)
                    if lists:
                        q = q.where(Lead.list_name.in_(list(lists)))
                    q = q.order_by(Lead.priority.desc(), Lead.next_at).limit(limit + len(skip))
                    for r in await s.execute(q):
                        if r.id in skip:
                            continue
                        out.append(LeadRow(r.id, r.number, r.zones, r.priority, r.dial_rank,
                                           r.attempts, dict(r.tries or {}),
                                           dict(r.fields or {}), r.agent,
                                           _epoch(r.next_at)))
                if len(out) >= limit:
                    break
        out.sort(key=lambda r: (r.rank, -r.priority, r.next_at))
        return out[:limit]

    async def set_lead(self, lead_id: int, at: float, **values: Any) -> None:
        values = {k: ts(v) if k.endswith("_at") and isinstance(v, int | float) else v
                  for k, v in values.items()}
        async with self.store.session.begin() as s:
            await s.execute(update(Lead).where(Lead.id == lead_id).values(
                updated_at=ts(at), **values))

    async def release_dialing(self, campaign: str, at: float) -> int:
        """After a restart: leads left `dialing` (the engine stopped mid-call) are dialable
        again, their attempt counted."""
        async with self.store.session.begin() as s:
            result = await s.execute(update(Lead).where(
                Lead.campaign == campaign, Lead.state == "dialing").values(
                state="retry", dial_rank=RANK_DIALABLE, updated_at=ts(at)))
            return int(getattr(result, "rowcount", 0) or 0)

    async def add_attempt(self, **values: Any) -> None:
        values = {k: ts(v) if k == "at" else v for k, v in values.items()}
        async with self.store.session.begin() as s:
            await s.execute(insert(LeadAttempt).values(**values))

    async def finish_attempt(self, call_id: str, **values: Any) -> None:
        async with self.store.session.begin() as s:
            await s.execute(update(LeadAttempt).where(LeadAttempt.call_id == call_id)
                            .values(**values))

    async def lead(self, lead_id: int) -> Lead | None:
        async with self.store.session() as s:
            return await s.get(Lead, lead_id)

    async def leads_by_state(self, campaign: str) -> dict[str, int]:
        async with self.store.session() as s:
            rows = await s.execute(select(Lead.state, func.count()).where(
                Lead.campaign == campaign).group_by(Lead.state))
            return {state: int(n) for state, n in rows}

    # --- the do-not-call list ---------------------------------------------------------

    async def dnc_add(self, numbers: Iterable[str], *, campaign: str, source: str, at: float,
                      note: str = "") -> int:
        """Add numbers (E.164) for a campaign, or for all (`campaign` empty); returns how
        many were new. Their leads stop being dialable."""
        numbers = list(dict.fromkeys(numbers))
        added = 0
        async with self.store.session.begin() as s:
            for start in range(0, len(numbers), BATCH):
                chunk = numbers[start:start + BATCH]
                have = set(await s.scalars(select(DncEntry.number).where(
                    DncEntry.campaign == campaign, DncEntry.number.in_(chunk))))
                fresh = [n for n in chunk if n not in have]
                if fresh:
                    await s.execute(insert(DncEntry), [{
                        "number": n, "campaign": campaign, "source": source,
                        "added_at": ts(at), "note": note[:200]} for n in fresh])
                    added += len(fresh)
                leads = update(Lead).where(Lead.number.in_(chunk), Lead.dial_rank < RANK_NONE)
                if campaign:
                    leads = leads.where(Lead.campaign == campaign)
                await s.execute(leads.values(state="dnc", dial_rank=RANK_NONE, updated_at=ts(at)))
        return added

    async def dnc_remove(self, number: str, *, campaign: str) -> bool:
        async with self.store.session.begin() as s:
            result = await s.execute(delete(DncEntry).where(DncEntry.number == number,
                                                            DncEntry.campaign == campaign))
            return bool(getattr(result, "rowcount", 0))

    async def dnc_check(self, number: str, campaign: str) -> list[DncEntry]:
        """The entries that keep `number` from being called by `campaign` (its own and the
        global list); empty when it may be called."""
        async with self.store.session() as s:
            return list(await s.scalars(select(DncEntry).where(
                DncEntry.number == number,
                or_(DncEntry.campaign == "", DncEntry.campaign == campaign))))

    async def dnc_blocked(self, numbers: Iterable[str], campaign: str) -> set[str]:
        numbers = list(numbers)
        if not numbers:
            return set()
        async with self.store.session() as s:
            return set(await s.scalars(select(DncEntry.number).where(
                DncEntry.number.in_(numbers),
                or_(DncEntry.campaign == "", DncEntry.campaign == campaign))))

    # --- figures ----------------------------------------------------------------------

    async def abandons(self, campaign: str, since: float) -> AbandonFigures:
        async with self.store.session() as s:
            row = (await s.execute(select(
                func.count().filter(LeadAttempt.human.is_(True)),
                func.count().filter(LeadAttempt.abandoned.is_(True))).where(
                LeadAttempt.campaign == campaign, LeadAttempt.at >= ts(since)))).one()
            return AbandonFigures(int(row[0]), int(row[1]))

    async def abandons_by_day(self, campaign: str, days: int, at: float) -> list[tuple[str, int, int]]:
        """(day, live answers, abandoned) for the last `days` days (UTC days)."""
        since = datetime.fromtimestamp(at, UTC) - timedelta(days=days)
        async with self.store.session() as s:
            rows = await s.execute(select(LeadAttempt.at, LeadAttempt.human,
                                          LeadAttempt.abandoned).where(
                LeadAttempt.campaign == campaign, LeadAttempt.at >= since,
                or_(LeadAttempt.human.is_(True), LeadAttempt.abandoned.is_(True))))
            per: dict[str, list[int]] = {}
            for when, human, abandoned in rows:
                day = _aware(when).strftime("%Y-%m-%d")
                slot = per.setdefault(day, [0, 0])
                slot[0] += int(bool(human))
                slot[1] += int(bool(abandoned))
            return [(d, h, a) for d, (h, a) in sorted(per.items())]

    async def history(self, campaign: str, since: float, limit: int = 20000) -> list[LeadAttempt]:
        async with self.store.session() as s:
            return list(await s.scalars(select(LeadAttempt).where(
                and_(LeadAttempt.campaign == campaign, LeadAttempt.at >= ts(since)))
                .order_by(LeadAttempt.id.desc()).limit(limit)))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _epoch(when: datetime) -> float:
    return _aware(when).timestamp()
