"""The hopper: a campaign's leads ready to dial, in memory, best first.

An ordered set (a heap on callback-first, priority, then age) refilled from the lead
store's index when it runs low: only zone groups inside calling hours now, leads under
their attempts, not already held here or in a call. Leads are checked again as they leave
it (hours pass while they wait); the do-not-call list is checked by the dialer at dial time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from dialer.hours import callable_now, open_zone_keys
from dialer.model import Campaign
from dialer.store import LeadRow, LeadStore

#: how long the campaign's zone groups are trusted before they are read again (an import
#: adds groups: `forget_zones` after one)
ZONES_TTL = 300.0


class Hopper:
    def __init__(self, leads: LeadStore, campaign: str, config: Campaign, *,
                 calendar: Callable[[], datetime] | None = None) -> None:
        self.leads = leads
        #: the wall clock calling hours are read against (the demo's runs on a Monday
        #: morning); None: the real time
        self.campaign = campaign
        self.config = config
        self._heap: list[tuple[int, int, float, int, LeadRow]] = []
        self._ids: set[int] = set()
        self._zones: list[str] = []
        self._zones_at: float | None = None
        #: leads whose new state is on its way to the store (the journal writes it): kept
        #: out of refills until it is written, so a lead is never dialled twice
        self.settling: set[int] = set()
        self.refills = 0
        self.calendar = calendar

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(self._ids)

    def push(self, lead: LeadRow) -> None:
        if lead.id in self._ids:
            return
        self._ids.add(lead.id)
        heapq.heappush(self._heap, (lead.rank, -lead.priority, lead.next_at, lead.id, lead))

    def _when(self, now: float) -> datetime:
        return self.calendar() if self.calendar is not None else datetime.fromtimestamp(now, UTC)

    def pop(self, now: float) -> LeadRow | None:
        """The best lead callable now; leads whose calling hours ended meanwhile leave the
        hopper (the store gives them back when their hours come)."""
        when = self._when(now)
        while self._heap:
            *_, lead = heapq.heappop(self._heap)
            self._ids.discard(lead.id)
            if callable_now(self.config.hours, lead.zones.split("|"), when):
                return lead
        return None

    def hold_back(self, lead_id: int) -> None:
        """The lead's state is being written: not dialable until `save` has done it."""
        self.settling.add(lead_id)

    async def save(self, lead_id: int, at: float, **values: Any) -> None:
        await self.leads.set_lead(lead_id, at, **values)
        self.settling.discard(lead_id)

    def clear(self) -> int:
        n = len(self._heap)
        self._heap.clear()
        self._ids.clear()
        return n

    def forget_zones(self) -> None:
        self._zones_at = None

    async def refill(self, now: float, *, size: int, busy: Iterable[int] = ()) -> int:
        """Top the hopper up to `size` leads (`busy`: leads in calls now). Returns how
        many were added."""
        want = size - len(self._heap)
        if want <= 0:
            return 0
        if self._zones_at is None or now - self._zones_at > ZONES_TTL:
            self._zones = await self.leads.zone_keys(self.campaign)
            self._zones_at = now
        keys = open_zone_keys(self.config.hours, self._zones, self._when(now))
        if not keys:
            return 0
        rows = await self.leads.dialable(
            self.campaign, lists=self.config.lists, zone_keys=keys, at=now, limit=want,
            max_attempts=self.config.max_attempts, exclude=self._ids | self.settling | set(busy))
        for row in rows:
            self.push(row)
        self.refills += 1
        return len(rows)
