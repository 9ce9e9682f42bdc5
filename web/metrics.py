"""Prometheus metrics at /metrics, named by Prometheus' conventions (`centralita_` prefix,
base units, `_total` counters). One registry per engine (no global state).

Counted as the engine's events happen: calls by queue and outcome, the queue wait
histogram (each queue's own buckets include its `sl_seconds`, so `le="20"` reads as the
service level), AMI events, database write latency. Read at scrape time: callers
waiting and agents by state per queue (from the same snapshots the wallboard shows),
AMI connected, the MQTT outbox backlog, wallboard clients, dialer figures."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from core.bus import Bus
from core.events import CallStepped
from web.feed import LiveFeed

BASE_BUCKETS = (5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
#: call event kinds that end a caller's wait in a queue, and the outcome they count as
OUTCOMES = {"acd.connected": "answered", "acd.abandoned": "abandoned",
            "acd.overflowed": "overflowed", "acd.callback_requested": "callback"}


@dataclass(slots=True)
class _Waits:
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def observe(self, wait: float) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        self.counts[bisect.bisect_left(self.bounds, wait)] += 1
        self.total += wait


@dataclass(frozen=True, slots=True)
class Readings:
    """What the collector reads at scrape time (callables: nothing cached goes stale)."""

    ami_ready: Callable[[], bool]
    ami_events: Callable[[], int]  # received since the engine started
    journal_backlog: Callable[[], int]


class Metrics(Collector):
    def __init__(self, feed: LiveFeed, sl_seconds: Mapping[str, float], readings: Readings) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.feed = feed
        self.readings = readings
        self.sl = dict(sl_seconds)
        self.calls = Counter("centralita_calls", "Callers leaving a queue, by outcome",
                             ["queue", "outcome"], registry=self.registry)
        self.db_write = Histogram("centralita_db_write_seconds",
                                  "Time to write one record to the database (retries included)",
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                           1.0, 5.0), registry=self.registry)
        self.waits: dict[str, _Waits] = {}
        #: unpublished outbox rows, counted by the /metrics handler just before a scrape
        self.outbox_backlog = 0
        self.registry.register(self)

    def attach(self, bus: Bus) -> None:
        bus.subscribe(CallStepped, self._stepped)

    def _stepped(self, ev: CallStepped) -> None:
        outcome = OUTCOMES.get(ev.kind)
        if outcome is None:
            return
        queue = ev.data.get("queue") if ev.kind != "acd.overflowed" else ev.data.get("from")
        if not isinstance(queue, str):
            return
        self.calls.labels(queue, outcome).inc()
        wait = ev.data.get("wait")
        if outcome == "answered" and isinstance(wait, int | float):
            self._waits(queue).observe(float(wait))

    def _waits(self, queue: str) -> _Waits:
        w = self.waits.get(queue)
        if w is None:
            sl = self.sl.get(queue)
            bounds = tuple(sorted(set(BASE_BUCKETS) | ({sl} if sl else set())))
            w = self.waits[queue] = _Waits(bounds)
        return w

    def collect(self) -> Iterable[Metric]:
        wait = HistogramMetricFamily("centralita_queue_wait_seconds",
                                     "How long answered callers waited in the queue",
                                     labels=["queue"])
        for queue, w in sorted(self.waits.items()):
            running, buckets = 0, []
            for bound, n in zip((*w.bounds, float("inf")), w.counts, strict=True):
                running += n
                buckets.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
            wait.add_metric([queue], buckets, w.total)
        yield wait
        waiting = GaugeMetricFamily("centralita_queue_callers_waiting", "Callers waiting now",
                                    labels=["queue"])
        longest = GaugeMetricFamily("centralita_queue_longest_wait_seconds",
                                    "The longest current wait", labels=["queue"])
        agents = GaugeMetricFamily("centralita_queue_agents", "A queue's agents by state",
                                   labels=["queue", "state"])
        for queue, stats in sorted(self.feed.queues.items()):
            waiting.add_metric([queue], float(stats.get("waiting", 0)))
            longest.add_metric([queue], float(stats.get("longest_wait", 0.0)))
            for state, n in sorted((stats.get("agents") or {}).items()):
                agents.add_metric([queue, state], float(n))
        yield waiting
        yield longest
        yield agents
        ami = GaugeMetricFamily("centralita_ami_connected", "1 while the AMI link is up and synced")
        ami.add_metric([], 1.0 if self.readings.ami_ready() else 0.0)
        yield ami
        events = CounterMetricFamily("centralita_ami_events_received",
                                     "AMI events received from Asterisk")
        events.add_metric([], float(self.readings.ami_events()))
        yield events
        outbox = GaugeMetricFamily("centralita_mqtt_outbox_backlog",
                                   "Messages stored but not yet published to the broker")
        outbox.add_metric([], float(self.outbox_backlog))
        yield outbox
        journal = GaugeMetricFamily("centralita_db_write_backlog",
                                    "Records waiting to be written to the database")
        journal.add_metric([], float(self.readings.journal_backlog()))
        yield journal
        clients = GaugeMetricFamily("centralita_wallboard_clients", "Wallboard pages open")
        clients.add_metric([], float(len(self.feed.clients)))
        yield clients
        yield from self._dialer()

    def _dialer(self) -> Iterable[Metric]:
        names = {"dial_level": "Lines dialled per ready agent",
                 "in_flight": "Calls dialled and not yet answered or given up",
                 "abandon_pct_30d": "Abandoned calls, percent of live answers, last 30 days",
                 "occupancy": "Talk and wrap-up over logged-in time of the campaign's agents",
                 "contacts_per_hour": "People reaching an agent in the last hour",
                 "hopper": "Leads ready to dial in memory"}
        campaigns = sorted(self.feed.campaigns.items())
        for key, doc in names.items():
            family = GaugeMetricFamily(f"centralita_campaign_{key}", doc, labels=["campaign"])
            for campaign, stats in campaigns:
                value = stats.get(key)
                if isinstance(value, int | float):
                    family.add_metric([campaign], float(value))
            yield family
