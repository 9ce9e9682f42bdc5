"""Composition root: the one place that wires the engine together."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import structlog

from acd.model import load_acd
from acd.service import AcdService
from asterisk.client import AmiClient
from asterisk.errors import AmiError
from asterisk.events import AmiEvent, CoreShowChannel, decode_event
from core.bus import Bus
from core.calllog import CallLog
from core.events import CallStarted
from core.greeting import Greeter
from core.mqtt import AgentCommand, CommandListener, OutboxPublisher
from core.registry import Registry
from core.settings import Settings
from core.store import Journal, Store
from ivr.model import load_ivr
from ivr.service import IvrService
from recorder.index import RecordingIndex
from recorder.model import load_recording
from recorder.service import Person, RecorderService

LEGS_CONTEXT = "centralita-legs"
ENGINE_CONTEXTS = ("centralita-in", "centralita-agents", LEGS_CONTEXT)
CALL_ID_VAR = "CENTRALITA_CALL_ID"
AGENT_VAR = "CENTRALITA_AGENT"  # set on the legs the ACD originates to agents' phones


class NeverConnected(Exception):
    """`run` gave up: Asterisk was never reachable within `ami.give_up_after`."""


class Engine:
    def __init__(self, settings: Settings,
                 ivr_clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.log = structlog.get_logger("engine")
        self.bus = Bus()
        self.store = Store(settings.database.url, busy_timeout=settings.database.busy_timeout)
        self.journal = Journal(self.store)
        self.registry = Registry(self.bus, ENGINE_CONTEXTS, time.time, legs_context=LEGS_CONTEXT)
        prefix = settings.mqtt.prefix if settings.mqtt.enabled else None
        self.calllog = CallLog(self.bus, self.store, self.journal, prefix)
        ami = settings.ami
        self.ami = AmiClient(
            ami.parsed, on_event=self._on_event, on_ready=self._resync,
            action_timeout=ami.action_timeout, connect_timeout=ami.connect_timeout,
            ping_interval=ami.ping_interval,
        )
        self.ivr: IvrService | None = None
        self.greeter: Greeter | None = None
        ivr_path = settings.ivr_path()
        if ivr_path is not None:
            # A broken IVR file stops the engine from starting (ConfigError names the line).
            self.ivr = IvrService(self.bus, self.ami, self.store, load_ivr(ivr_path),
                                  path=ivr_path, now=ivr_clock)
        else:
            self.greeter = Greeter(self.bus, self.ami, settings.greeting)
        self.publisher = OutboxPublisher(settings.mqtt, self.store, self.journal,
                                         backoff_max=settings.mqtt.retry_max)
        self.acd: AcdService | None = None
        queues, agents = settings.path(settings.acd.queues), settings.path(settings.acd.agents)
        if queues is not None and agents is not None:
            self.acd = AcdService(self.bus, self.ami, self.store, self.journal, self.registry,
                                  load_acd(queues, agents), prefix=prefix,
                                  live=self.publisher.publish_live,
                                  stats_every=settings.acd.stats_every)
            if self.ivr is not None:
                self.ivr.hand_off = True
                self.acd.ivr_nodes = frozenset(self.ivr.config.nodes)
        self.recorder: RecorderService | None = None
        recording = settings.path(settings.recording.file)
        if recording is not None:
            acd_config = self.acd.config if self.acd is not None else None
            config = load_recording(recording, set(acd_config.queues) if acd_config else None)
            if settings.recording.directory:
                config = config.model_copy(update={"directory": settings.recording.directory,
                                                   "visible_directory": None})
            people = [Person(a.id, a.role, a.device, a.extension)
                      for a in (acd_config.agents if acd_config else [])]
            self.recorder = RecorderService(self.bus, self.ami, RecordingIndex(self.store),
                                            self.journal, self.registry, config, people)
            if self.acd is not None:
                self.acd.foreign_codes = ("*3",)
                recorder = self.recorder
                self.acd.entry_prompts = lambda queue: recorder.announcement(queue)
        self.commands: CommandListener | None = None
        if self.acd is not None and settings.mqtt.enabled:
            acd = self.acd
            self.commands = CommandListener(
                settings.mqtt, self._agent_command,
                queue_handler=lambda queue, cmd: acd.reprioritise(cmd.call_id, cmd.priority,
                                                                  queue=queue),
                backoff_max=settings.mqtt.retry_max)
        self.stop = asyncio.Event()
        self.resyncs = 0
        self._tagging: set[asyncio.Task[None]] = set()
        self.bus.subscribe(CallStarted, self._tag)

    def _on_event(self, event: AmiEvent) -> None:
        self.registry.on_event(event)
        if self.acd is not None:
            self.acd.on_ami_event(event)
        if self.recorder is not None:
            self.recorder.on_ami_event(event)

    def _agent_command(self, agent: str, cmd: AgentCommand) -> str | None:
        error = self._dispatch_command(agent, cmd)
        if error is not None:  # refused: nothing changed; say why, with the call it was about
            status = self.acd.status.get(agent) if self.acd is not None else None
            self.log.info("agent.command_refused", agent=agent, action=cmd.action,
                          call_id=status.call_id if status else None, error=error)
        return error

    def _dispatch_command(self, agent: str, cmd: AgentCommand) -> str | None:
        """An agent's (or supervisor's) command: recording and monitoring go to the
        recorder, the rest to the ACD."""
        if cmd.action.endswith("_recording") or cmd.action in ("listen", "whisper", "barge"):
            if self.recorder is None:
                return "recording is not configured"
            return self.recorder.command(agent, cmd.action, cmd.agent)
        assert self.acd is not None
        if cmd.action == "disposition":
            if not cmd.code:
                return "disposition needs a code"
            return self.acd.after.disposition(agent, cmd.code, cmd.notes or "", ticket=cmd.ticket,
                                              follow_up_at=cmd.follow_up_at,
                                              follow_up_to=cmd.follow_up_to)
        if cmd.action == "update_customer":
            return self.acd.after.update_customer(agent, cmd.fields or {})
        if cmd.action == "escalate":
            return self.acd.after.escalate(agent, cmd.notes or "")
        if cmd.action == "consult":
            if not cmd.target:
                return "consult needs a target (agent:ID or an extension)"
            return self.acd.consults.consult(agent, cmd.target)
        if cmd.action in ("consult_complete", "consult_cancel", "conference"):
            step = {"consult_complete": "complete", "consult_cancel": "cancel"}.get(cmd.action,
                                                                                  "conference")
            return self.acd.consults.finish(agent, step)
        if cmd.action == "transfer":
            if not cmd.target:
                return "transfer needs a target (queue:NAME or agent:ID)"
            return self.acd.transfer(agent, cmd.target, keep_priority=cmd.keep_priority)
        return self.acd.command(agent, cmd.action, cmd.reason)

    def _tag(self, ev: CallStarted) -> None:
        """Name the call on its channel, so that after a restart it is found again."""
        if ev.adopted:
            return

        async def tag() -> None:
            try:
                await self.ami.send("Setvar", {"Channel": ev.channel, "Variable": CALL_ID_VAR,
                                               "Value": ev.call_id}, timeout=5)
            except AmiError as exc:
                self.log.info("engine.tag_failed", call_id=ev.call_id, error=str(exc))

        task = asyncio.ensure_future(tag())
        self._tagging.add(task)
        task.add_done_callback(self._tagging.discard)

    async def _resync(self, ami: AmiClient) -> None:
        """After every (re)connect, before anything else: learn what Asterisk has now."""
        listing = await ami.send_list_now("CoreShowChannels", timeout=ami.action_timeout)
        items = [ev for ev in map(decode_event, listing.items) if isinstance(ev, CoreShowChannel)]
        known: dict[str, str] = {}
        talking: dict[str, str] = {}  # agent legs found in a bridge: channel -> agent id
        for item in items:  # calls we parked before a restart carry their id on the channel
            if item.channel not in self.registry.channels and item.context in ENGINE_CONTEXTS:
                value = await self._getvar(ami, item.channel, CALL_ID_VAR)
                if value:
                    known[item.channel] = value
                if item.context == LEGS_CONTEXT and item.bridge_id:
                    agent = await self._getvar(ami, item.channel, AGENT_VAR)
                    if agent:
                        talking[item.channel] = agent
        closed, adopted = self.registry.reconcile(items, known)
        self.resyncs += 1
        self.log.info("engine.resynced", channels=len(items), closed=closed, adopted=adopted)
        if self.acd is not None:
            for channel, agent in talking.items():
                call = self.registry.call_of(channel)
                if call is not None:
                    await self.acd.restore_talking(agent, call.call_id, channel)
            if self.resyncs == 1:  # owed callbacks wait until the agents' states are known
                self.acd.spawn(self.acd.load_callbacks())

    @staticmethod
    async def _getvar(ami: AmiClient, channel: str, name: str) -> str:
        try:
            reply = await ami.send_now("Getvar", {"Channel": channel, "Variable": name})
        except AmiError:
            return ""
        return reply.get("Value") or ""

    async def run(self, *, give_up_after: float | None = None,
                  install_signals: bool = True) -> None:
        await self.store.migrate()
        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        tasks = [asyncio.ensure_future(self.journal.run())]
        if self.settings.mqtt.enabled:
            tasks.append(asyncio.ensure_future(self.publisher.run()))
            if self.commands is not None:
                tasks.append(asyncio.ensure_future(self.commands.run()))
        ami_task = asyncio.ensure_future(self.ami.run(stop=self.stop))
        tasks.append(ami_task)
        if self.ivr is not None and self.ivr.path is not None:
            tasks.append(asyncio.ensure_future(self._watch(self.ivr.path)))
        self.log.info("engine.started", ami=str(self.ami.url), database=_safe(self.store.url))
        if self.acd is not None:
            self.acd.start()
        if self.recorder is not None:
            self.recorder.start()
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
            await self._shutdown(tasks, ami_task)

    async def _watch(self, path: Path, every: float = 2.0) -> None:
        """Reload when a config file changes on disk (as SIGHUP does)."""
        def stamp() -> float:
            try:
                return path.stat().st_mtime
            except OSError:
                return 0.0

        seen = stamp()
        while True:
            await asyncio.sleep(every)
            now = stamp()
            if now != seen:
                seen = now
                self.reload()

    def reload(self) -> None:
        """SIGHUP: apply changed YAML if it is valid; keep what runs if it is not."""
        if self.ivr is not None:
            self.ivr.reload()

    async def _until_connected(self) -> None:
        while not self.ami.ready and not self.stop.is_set():
            await asyncio.sleep(0.05)

    async def _shutdown(self, tasks: list[asyncio.Task[None]], ami_task: asyncio.Task[None]) -> None:
        self.log.info("engine.stopping")
        self.stop.set()
        for service in (self.greeter, self.ivr, self.acd, self.recorder):
            for task in list(service.tasks) if service is not None else []:
                task.cancel()
        with contextlib.suppress(Exception):
            await self.ami.close()
        with contextlib.suppress(TimeoutError):
            await self.journal.drain(10.0)
        # Give the publisher a moment to flush what the journal just wrote.
        deadline = time.monotonic() + 2.0
        while self.publisher.connected and time.monotonic() < deadline:
            if not await self.store.pending_outbox(1):
                break
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.store.close()
        self.log.info("engine.stopped")


def _safe(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if sep else url
