"""Composition root: builds the engine from its settings and the center's configuration,
each service with what it needs, and runs it. Nothing else wires things together."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from acd.service import AcdService
from app.center import load_center, load_dialer
from app.pages import build_web
from app.reload import changes, needs_restart
from asterisk import dialplan as dp
from asterisk.client import AmiClient
from asterisk.events import AmiEvent
from core.agentlog import AgentLog
from core.agentstate import LogOut
from core.bus import Bus
from core.calllog import CallLog
from core.commands import Commands, ReloadConfig
from core.errors import ConfigError
from core.events import CallStarted
from core.leftovers import Leftovers
from core.lines import AgentLines
from core.mqtt import CommandListener, OutboxPublisher
from core.phone import FeatureCodes, Keypad
from core.pool import AgentChanged, AgentPool
from core.registry import Registry
from core.resync import CallTagger, Resync
from core.settings import Settings
from core.store import Journal, Store
from core.topics import Topics
from dialer.model import CampaignsConfig
from dialer.service import DialerService, blend_rules
from ivr.greeting import Greeter
from ivr.service import IvrService, PaymentStep
from recorder.index import RecordingIndex
from recorder.service import RecorderService
from reports.queuelog import QueueLog, QueueLogBook, QueueLogFile
from web.feed import LiveFeed
from web.server import WebServer


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("centralita")
    except PackageNotFoundError:
        return "unknown"


VERSION = _version()


class NeverConnected(Exception):
    """`run` gave up: Asterisk was never reachable within `ami.give_up_after`."""


class Engine:
    def __init__(self, settings: Settings,
                 calendar: Callable[[], datetime] | None = None,
                 payments: PaymentStep | None = None) -> None:
        """`payments`: where card data captured by the IVR goes (a `payment: true`
        capture); without one it is dropped (and said so in the log)."""
        self.settings = settings
        self.log = structlog.get_logger("engine")
        center = load_center(settings)  # a broken file stops the engine here (file:line)
        self.center = center
        self.bus = Bus()
        self.store = Store(settings.database.url, busy_timeout=settings.database.busy_timeout)
        self.journal = Journal(self.store)
        self.registry = Registry(self.bus, time.time)
        self.topics = Topics(settings.mqtt.prefix) if settings.mqtt.enabled else None
        self.calllog = CallLog(self.bus, self.store, self.journal, self.topics)
        self.started_at = time.time()
        self.publisher = OutboxPublisher(settings.mqtt, self.store, self.journal,
                                         backoff_max=settings.mqtt.retry_max, topics=self.topics,
                                         version=VERSION, started_at=self.started_at)
        self.directory = center.directory
        #: the wallboard's live data: the same snapshots that go to MQTT (web/feed.py)
        self.feed: LiveFeed | None = None
        if settings.http.listen is not None and self.topics is not None:
            directory = center.directory
            self.feed = LiveFeed(self.topics, lambda a: a_.name if (a_ := directory.get(a)) else "",
                                 backlog=settings.http.client_backlog)
        live = self._live()
        members = center.campaigns.members_of(center.directory) \
            if center.campaigns is not None else {}
        self.pool = AgentPool(self.directory, time.time, campaigns=members,
                              blend=blend_rules(center.campaigns, members)
                              if center.campaigns is not None else None)
        #: agents' lines kept connected between calls: the dialer keeps them, the ACD
        #: bridges blended agents' callers to them too
        self.lines = AgentLines()
        self.pool.listen(AgentLog(self.directory, self.store, self.journal, self.topics,
                                  live).changed)
        if self.feed is not None:
            self.pool.listen(self.feed.agent_changed)
        self.commands = Commands(call_of=lambda agent: self.pool.call_of(agent)
                                 if agent in self.pool else None)
        self.codes = FeatureCodes(dp.AGENTS)
        self.keypad = Keypad(time.time)
        self.resync = Resync(self.registry)
        # what a stopped or crashed engine left open is closed once Asterisk has said what
        # is still up (the first resync)
        self.resync.after.append(Leftovers(self.registry, self.store).resynced)
        ami = settings.ami
        self.ami = AmiClient(
            ami.parsed, on_event=self._on_event, on_ready=self.resync.run,
            action_timeout=ami.action_timeout, connect_timeout=ami.connect_timeout,
            ping_interval=ami.ping_interval,
        )
        self.ami.debug = settings.log.level == "debug"
        self.tagger = CallTagger(self.bus, self.ami)
        self.bus.subscribe(CallStarted, self.codes.started)
        self.ivr: IvrService | None = None
        self.greeter: Greeter | None = None
        self.acd: AcdService | None = None
        self.dialer: DialerService | None = None
        self.recorder: RecorderService | None = None
        self._starts: list[Callable[[], None]] = []
        self._tasks: list[Iterable[asyncio.Task[Any]]] = [self.tagger.tasks]
        if center.ivr is not None:
            self.ivr = IvrService(self.bus, self.ami, self.store, center.ivr,
                                  path=center.ivr_path, now=calendar,
                                  hand_off=center.acd is not None, payments=payments)
            self._tasks.append(self.ivr.tasks)
        else:
            self.greeter = Greeter(self.bus, self.ami, settings.greeting)
            self._tasks.append(self.greeter.tasks)
        if center.recording is not None:
            self.recorder = RecorderService(self.bus, self.ami, RecordingIndex(self.store),
                                            self.journal, self.registry, center.recording,
                                            self.directory, settle=settings.recording.settle)
            self.recorder.register(self.commands, self.codes, self.keypad)
            self.resync.after.append(self.recorder.resynced)
            self._starts.append(self.recorder.start)
            self._tasks.append(self.recorder.tasks)
        if center.acd is not None:
            recorder = self.recorder
            self.acd = AcdService(
                bus=self.bus, ami=self.ami, store=self.store, journal=self.journal,
                registry=self.registry, pool=self.pool, config=center.acd,
                directory=self.directory, topics=self.topics, live=live,
                stats_every=settings.acd.stats_every,
                ivr_nodes=frozenset(center.ivr.nodes) if center.ivr is not None else frozenset(),
                entry_prompts=recorder.announcement if recorder is not None else lambda _q: [],
                lines=self.lines)
            self.acd.register(self.commands, self.codes, self.keypad)
            self.resync.after.append(self.acd.resynced)
            self._starts.append(self.acd.start)
            self._tasks.append(self.acd.tasks)
        if center.campaigns is not None:
            path = center.campaigns_path
            acd_config = center.acd

            def reread() -> CampaignsConfig:
                assert path is not None
                return load_dialer(path, acd_config)

            self.dialer = DialerService(
                bus=self.bus, ami=self.ami, store=self.store, journal=self.journal,
                registry=self.registry, pool=self.pool, directory=self.directory,
                config=center.campaigns, topics=self.topics, live=live, lines=self.lines,
                reload=reread, stats_every=settings.dialer.stats_every, calendar=calendar)
            self.dialer.register(self.commands)
            self._starts.append(self.dialer.start)
            self._tasks.append(self.dialer.tasks)
        kinds = ("agents", "queues", "campaigns") if self.dialer is not None \
            else ("agents", "queues")
        self.listener = CommandListener(settings.mqtt, self.commands, self.topics, kinds=kinds,
                                        backoff_max=settings.mqtt.retry_max) \
            if self.topics is not None else None
        self.queue_log: QueueLogFile | None = None
        if settings.reports.queue_log:
            log_path = settings.path(settings.reports.queue_log)
            assert log_path is not None
            self.queue_log = QueueLogFile(log_path)
            QueueLog(QueueLogBook(devices={a.id: a.device for a in self.directory}),
                     self.queue_log, time.time).attach(self.bus, self.pool)
        self.web: WebServer | None = None
        if self.feed is not None:
            self.web = build_web(settings, center, self.feed, store=self.store,
                                 journal=self.journal, bus=self.bus,
                                 ami_ready=lambda: self.ami.ready,
                                 ami_events=lambda: self.registry.events_seen)
        self.reload_refused: str | None = None  # why the last reload changed nothing
        #: agents removed from agents.yaml who are still on a call
        self.leaving: set[str] = set()
        self.pool.listen(self._agent_moved)
        self.commands.register(ReloadConfig, self._reload_command)
        self.stop = asyncio.Event()

    def _live(self) -> Callable[[str, str], None] | None:
        if self.topics is None:
            return None
        mqtt, feed = self.publisher.publish_live, self.feed
        if feed is None:
            return mqtt

        def both(topic: str, payload: str) -> None:
            mqtt(topic, payload)
            feed.published(topic, payload)
        return both

    def _on_event(self, event: AmiEvent) -> None:
        self.registry.on_event(event)
        self.keypad.on_event(event)

    async def run(self, *, give_up_after: float | None = None,
                  install_signals: bool = True) -> None:
        await self.store.migrate()
        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        tasks = [asyncio.ensure_future(self.journal.run())]
        if self.listener is not None:
            tasks.append(asyncio.ensure_future(self.publisher.run()))
            tasks.append(asyncio.ensure_future(self.listener.run()))
        ami_task = asyncio.ensure_future(self.ami.run(stop=self.stop))
        tasks.append(ami_task)
        tasks.append(asyncio.ensure_future(self._watch(self.watched())))
        self.log.info("engine.started", ami=str(self.ami.url), database=_safe(self.store.url))
        for start in self._starts:
            start()
        if self.web is not None:
            try:
                await self.web.start()
            except OSError as exc:  # the port is taken: calls matter more than the pages
                self.log.error("web.unavailable", listen=self.settings.http.listen,
                               error=exc.strerror or str(exc))
                self.web = None
        try:
            if give_up_after is not None:
                try:
                    await asyncio.wait_for(self._until_connected(), give_up_after)
                except TimeoutError:
                    raise NeverConnected(
                        f"could not connect to Asterisk at {self.ami.url} within "
                        f"{give_up_after:g} s") from None
            await self.stop.wait()
        finally:
            await self._shutdown(tasks)

    async def _watch(self, paths: list[Path], every: float = 2.0) -> None:
        """Reload when a config file changes on disk (as SIGHUP does). Nothing a file
        holds (bad bytes, a half-written save) can stop the watching."""
        def stamps() -> list[float]:
            out = []
            for path in paths:
                try:
                    out.append(path.stat().st_mtime)
                except OSError:
                    out.append(0.0)
            return out

        seen = stamps()
        while True:
            await asyncio.sleep(every)
            now = stamps()
            if now != seen:
                seen = now
                try:
                    self.reload()
                except Exception:
                    self.log.exception("config.reload_failed")

    def reload(self) -> bool:
        """SIGHUP or a changed file: the whole center read again and checked; applied only
        if valid and possible while calls run (all or nothing). Calls already waiting or
        talking keep the rules they started with; new decisions use the new ones."""
        self.reload_refused = None
        try:
            center = load_center(self.settings)
        except ConfigError as exc:
            self.log.error("config.reload_rejected", problems=exc.problems[:20],
                           count=len(exc.problems))
            self.reload_refused = "; ".join(exc.problems[:3])
            return False
        summary = changes(self.center, center)
        if not summary:
            return False  # nothing changed: nothing to say
        why = needs_restart(self.center, center)
        if why is None and self.acd is not None and self.center.acd is not None \
                and center.acd is not None:
            busy = sorted(q for q in set(self.center.acd.queues) - set(center.acd.queues)
                          if self.acd.state.in_queue(q))
            if busy:
                why = (f"callers are waiting in {', '.join(busy)}: a queue is removed once it "
                       f"is empty (reload again then)")
        if why is not None:
            self.log.error("config.reload_rejected", reason=why, changes=summary)
            self.reload_refused = why
            return False
        if center.acd is not None and self.acd is not None:
            old_ids = {a.id for a in self.directory}
            new_ids = {a.id for a in center.acd.agents}
            for agent in center.acd.agents:
                if agent.id not in old_ids:
                    self.directory.add(agent)
                    self.pool.add(agent.id)
            self.directory.refresh([a for a in center.acd.agents if a.id in old_ids])
            self.acd.apply(center.acd)
            for agent_id in sorted(old_ids - new_ids):
                self.acd.retire(agent_id)
                self.leaving.add(agent_id)
                self._leave(agent_id)
            for queue in sorted(set(self.center.acd.queues) - set(center.acd.queues)
                                if self.center.acd is not None else ()):
                self.acd.retire_queue(queue)  # empty: checked above
        if center.ivr is not None and self.ivr is not None:
            self.ivr.config = center.ivr
        if center.recording is not None and self.recorder is not None:
            self.recorder.config = center.recording
        self.center = center
        if self.dialer is not None and any(c.startswith(("campaigns.yaml", "agents.yaml"))
                                           for c in summary):
            self.dialer.reload()
        self.log.info("config.reloaded", changes=summary)
        return True

    def _leave(self, agent_id: str) -> None:
        """An agent removed from agents.yaml goes once off any call: logged out from ready
        or a pause at once; from a call or wrap-up when it ends (the call finishes first)."""
        if agent_id not in self.leaving or agent_id not in self.pool:
            self.leaving.discard(agent_id)
            return
        state = self.pool.state(agent_id)
        if state in ("ready", "paused"):
            self.pool.try_apply(agent_id, LogOut(), why="removed")
            state = self.pool.state(agent_id)
        if state == "logged_out" and self.pool.remove(agent_id):
            self.directory.remove(agent_id)
            self.leaving.discard(agent_id)
            self.log.info("agent.removed", agent=agent_id)
        elif state != "logged_out":
            self.log.info("agent.removal_deferred", agent=agent_id, state=state,
                          reason="on a call: leaves when it is over")

    def _agent_moved(self, change: AgentChanged) -> None:
        if change.agent_id in self.leaving:
            self._leave(change.agent_id)

    def _reload_command(self, sender: str, _cmd: ReloadConfig) -> str | None:
        agent = self.directory.get(sender)
        if agent is None or agent.role != "supervisor":
            return "only supervisors may reload the configuration"
        self.log.info("config.reload_asked", agent=sender)
        self.reload()
        return self.reload_refused

    def watched(self) -> list[Path]:
        """The files a change of which reloads (engine.yaml itself needs a restart)."""
        s = self.settings
        names = (s.ivr.file, s.hours.file, s.acd.queues, s.acd.agents, s.recording.file,
                 s.dialer.campaigns)
        return [p for p in (s.path(n) for n in names) if p is not None]

    async def _until_connected(self) -> None:
        while not self.ami.ready and not self.stop.is_set():
            await asyncio.sleep(0.05)

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        self.log.info("engine.stopping")
        self.stop.set()
        for service_tasks in self._tasks:
            for task in list(service_tasks):
                task.cancel()
        if self.web is not None:
            with contextlib.suppress(Exception):
                await self.web.stop()
        with contextlib.suppress(Exception):
            await self.ami.close()
        with contextlib.suppress(TimeoutError):
            await self.journal.drain(10.0)
        # The publisher flushes what the journal just wrote, clears the retained snapshots
        # and says offline: nothing stale is left for a wallboard to believe.
        await self.publisher.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.store.close()
        if self.queue_log is not None:
            self.queue_log.close()
        self.log.info("engine.stopped")


def _safe(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if sep else url
