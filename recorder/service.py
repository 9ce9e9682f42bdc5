"""Recording and live monitoring over AMI.

A segment starts when a caller and an agent are bridged (`CallConnected`): `MixMonitor`
on the call's channel records both parties. A second agent on the same call (a
transfer) closes that segment and opens the next one. Pauses (`MixMonitorMute`) come
from the agent (MQTT, or `*7` during the call) and, by themselves, while the IVR
collects card data; every paused interval is kept on the segment's row. The file is
checked (size, sha256) once the call ends, where the engine can see the directory.

Supervisors listen, whisper or barge with a `ChanSpy` leg on their own phone, from
MQTT or from a feature code; every access is written to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from asterisk import actions
from asterisk.client import AmiClient
from asterisk.errors import AmiError
from core import commands as c
from core.bus import Bus
from core.events import (
    CallAnswered,
    CallConnected,
    CallEnded,
    CallStarted,
    CallStepped,
    CardDataCollection,
)
from core.people import Directory
from core.phone import FeatureCodes, Keypad
from core.registry import Registry
from core.store import Journal
from core.tasks import Tasks
from recorder.files import file_facts, local_path, purge_files
from recorder.index import RecordingIndex
from recorder.model import RecordingConfig
from recorder.monitoring import SPY_OPTIONS, Monitoring
from recorder.policy import Record, decide, recording_path

PAUSE_CODE = "*7"  # pressed by the agent during the call: pause, or resume


@dataclass(slots=True)
class Segment:
    call_id: str
    number: int
    channel: str
    path: str
    policy: str
    started: float
    agent: str | None
    queue: str | None
    mode: str
    muted: set[str] = field(default_factory=set)  # why it is paused now: agent, card_data
    paused: list[dict[str, Any]] = field(default_factory=list)


class RecorderService:
    def __init__(self, bus: Bus, ami: AmiClient, index: RecordingIndex, journal: Journal,
                 registry: Registry, config: RecordingConfig, directory: Directory, *,
                 clock: Callable[[], float] = time.time, settle: float = 1.0) -> None:
        self.bus = bus
        self.ami = ami
        self.index = index
        self.journal = journal
        self.registry = registry
        self.leftovers_done = False  # segments an earlier run left open: closed once
        self.config = config
        self.people = directory
        self.clock = clock
        self.settle = settle  # wait for Asterisk to close a file before checking it
        self.active: dict[str, Segment] = {}  # call_id -> its open segment
        self.segments: dict[str, int] = {}  # call_id -> segments so far
        self.skipped: dict[str, tuple[str, str | None, str | None]] = {}  # call -> policy, agent, queue
        self.calls: dict[str, str] = {}  # call_id -> kind
        self.by_agent: dict[str, tuple[str, str]] = {}  # agent -> (call_id, agent channel)
        self.by_channel: dict[str, str] = {}  # agent channel -> agent
        self.tasks = Tasks(structlog.get_logger("recorder"), "recording.task_failed")
        self.monitoring = Monitoring(bus, ami, index, journal, directory, self.tasks, clock,
                                     self.by_agent.get)
        self.log = structlog.get_logger("recorder")
        bus.subscribe(CallStarted, self._started)
        bus.subscribe(CallAnswered, self._answered)
        bus.subscribe(CallConnected, self._connected)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CardDataCollection, self._card_data)

    def register(self, commands: c.Commands, codes: FeatureCodes, keypad: Keypad) -> None:
        """Agents' recording commands, supervisors' monitoring (MQTT and `*31`-`*33` from
        their phones), and `*7` pressed during a call."""
        def own(action: str) -> Callable[[str, c.Command], str | None]:
            return lambda agent, _cmd: self.command(agent, action)

        def spy(mode: str) -> Callable[[str, c.Listen | c.Whisper | c.Barge], str | None]:
            return lambda agent, cmd: self.command(agent, mode, cmd.agent)

        own_actions: dict[type[c.Command], str] = {
            c.PauseRecording: "pause_recording", c.ResumeRecording: "resume_recording",
            c.StartRecording: "start_recording", c.StopRecording: "stop_recording"}
        for kind, action in own_actions.items():
            commands.register(kind, own(action))
        commands.register(c.Listen, spy("listen"))
        commands.register(c.Whisper, spy("whisper"))
        commands.register(c.Barge, spy("barge"))
        codes.on("*3", self.monitoring.spy_code)
        keypad.on(PAUSE_CODE, self._pause_key)

    def start(self) -> None:
        self._check_directory()
        self._spawn(self._retention())

    def _check_directory(self) -> None:
        """A recordings directory the engine can see but not write to is worth shouting
        about at start: Asterisk would silently record nothing."""
        seen = self.config.seen_directory
        if seen is None:
            return
        try:
            seen.mkdir(parents=True, exist_ok=True)
            probe = seen / ".centralita-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            self.log.error("recording.directory_unwritable", directory=str(seen), error=str(exc))

    def announcement(self, queue: str) -> list[str]:
        """What a caller hears on entering `queue` under its policy ("calls may be recorded")."""
        _, policy = self.config.policy_for(kind="inbound", queue=queue)
        return list(policy.announce) if policy.mode != "never" else []

    # --- calls ------------------------------------------------------------------------

    def _started(self, ev: CallStarted) -> None:
        self.calls[ev.call_id] = ev.kind

    def _answered(self, ev: CallAnswered) -> None:
        """Policies that start at `answer` record the IVR and the queue wait too; they are
        the default policy's (no queue is known yet)."""
        kind = self.calls.get(ev.call_id, "inbound")
        if kind != "inbound" or ev.call_id in self.active:
            return
        name, policy = self.config.policy_for(kind=kind)
        if policy.start == "answer" and decide(policy.mode, policy.percent, ev.call_id) is None:
            self._spawn(self._start(ev.call_id, ev.channel, name, None, None, bridged_only=False))

    def _connected(self, ev: CallConnected) -> None:
        call = self.registry.calls.get(ev.call_id)
        if call is None:
            return
        old = self.by_agent.get(ev.agent_id)
        if old is not None:
            self.by_channel.pop(old[1], None)
        self.by_agent[ev.agent_id] = (ev.call_id, ev.agent_channel)
        self.by_channel[ev.agent_channel] = ev.agent_id
        current = self.active.get(ev.call_id)
        if current is not None and current.agent is None:  # recording since the answer
            current.agent, current.queue = ev.agent_id, ev.queue or None
            self._save(current, agent=ev.agent_id, queue=ev.queue or None)
            return
        if current is not None and current.agent == ev.agent_id:
            return
        self._spawn(self._next_segment(ev, call.channel, call.caller_num))

    async def _next_segment(self, ev: CallConnected, channel: str, number: str) -> None:
        if ev.call_id in self.active:  # a transfer: this agent's part is a segment of its own
            await self._stop(ev.call_id, "transferred")
        kind = self.calls.get(ev.call_id, "inbound")
        name, policy = self.config.policy_for(kind=kind, queue=ev.queue, campaign=ev.campaign)
        why = decide(policy.mode, policy.percent, ev.call_id)
        if why is not None:
            self.skipped[ev.call_id] = (name, ev.agent_id, ev.queue or None)
            self.bus.publish(CallStepped(ev.call_id, "recording.skipped", self.clock(),
                                         {"policy": name, "why": why}))
            return
        await self._start(ev.call_id, channel, name, ev.agent_id, ev.queue or None,
                          bridged_only=policy.start == "bridge", number=number,
                          campaign=ev.campaign)

    async def _start(self, call_id: str, channel: str, policy_name: str, agent: str | None,
                     queue: str | None, *, bridged_only: bool, number: str = "",
                     campaign: str = "") -> str | None:
        """MixMonitor and the segment's row; None when recording, else why not."""
        policy = self.config.policies[policy_name]
        now = self.clock()
        n = self.segments.get(call_id, 0) + 1
        self.segments[call_id] = n
        decision = Record(recording_path(self.config.directory, policy.naming, policy.format,
                                         at=now, interaction=call_id, segment=n,
                                         agent=agent or "", queue=queue or "",
                                         campaign=campaign, number=number,
                                         kind=self.calls.get(call_id, "")), bridged_only)
        seg = Segment(call_id, n, channel, decision.path, policy_name, now, agent, queue,
                      policy.mode)
        fields = {"interaction_id": call_id, "segment": n, "agent": agent, "queue": queue,
                  "campaign": campaign or None, "customer_number": number,
                  "policy": policy_name, "format": policy.format, "channel": channel,
                  "path": decision.path, "started_at": now}
        try:
            await self.ami.send(actions.mixmonitor(channel, decision.path,
                                                   bridged_only=decision.bridged_only))
        except AmiError as exc:
            # No recording, but a row that says so: nothing half-way without a trace.
            self.index.submit_start(self.journal, {**fields, "status": "failed", "ended_at": now,
                                                   "note": f"MixMonitor refused: {exc}"[:300]})
            self.bus.publish(CallStepped(call_id, "recording.failed", now,
                                         {"segment": n, "error": str(exc)[:200]}))
            self.log.warning("recording.start_failed", call_id=call_id, error=str(exc))
            return f"Asterisk refused to record: {exc}"
        self.active[call_id] = seg
        self.skipped.pop(call_id, None)
        self.index.submit_start(self.journal, {**fields, "status": "recording"})
        self.bus.publish(CallStepped(call_id, "recording.started", now, {
            "segment": n, "policy": policy_name, "path": decision.path, "agent": agent}))
        if call_id not in self.calls:  # the call ended while Asterisk was starting it
            self._close(seg, "hangup")
        return None

    async def _stop(self, call_id: str, why: str) -> None:
        seg = self.active.get(call_id)
        if seg is None:
            return
        with contextlib.suppress(AmiError):
            await self.ami.send(actions.stop_mixmonitor(seg.channel))
        self._close(seg, why)

    def _ended(self, ev: CallEnded) -> None:
        self.calls.pop(ev.call_id, None)
        self.skipped.pop(ev.call_id, None)
        self.segments.pop(ev.call_id, None)
        for agent, (call_id, channel) in list(self.by_agent.items()):
            if call_id == ev.call_id:
                del self.by_agent[agent]
                self.by_channel.pop(channel, None)
        seg = self.active.get(ev.call_id)
        if seg is not None:
            self._close(seg, "hangup")

    def _close(self, seg: Segment, why: str) -> None:
        now = self.clock()
        self.active.pop(seg.call_id, None)
        for p in seg.paused:
            if p["end"] is None:
                p["end"] = now
        self._save(seg, ended_at=now, duration_s=round(now - seg.started, 3),
                   paused=list(seg.paused))
        self.bus.publish(CallStepped(seg.call_id, "recording.stopped", now,
                                     {"segment": seg.number, "why": why}))
        self._spawn(self._settle(seg))

    async def _settle(self, seg: Segment) -> None:
        """Asterisk closes the file just after the hang-up: then look at it."""
        await asyncio.sleep(self.settle)
        seen = self.config.seen_directory
        if seen is None:
            self._save(seg, status="complete", note="directory not visible to the engine")
            return
        local = self.local_path(seg.path)
        size, digest = await asyncio.to_thread(file_facts, local)
        if size is None:
            self._save(seg, status="missing", note=f"no file at {local} (directory not writable, "
                                                   f"disk full, or never bridged)")
            self.log.warning("recording.file_missing", call_id=seg.call_id, path=str(local))
            return
        self._save(seg, status="complete", size=size, checksum=digest)

    def local_path(self, path: str) -> Path:
        return local_path(self.config, path)

    async def resynced(self, _talking: Mapping[str, str]) -> None:
        """After a restart: segments still `recording` whose call is no longer up get their
        size and checksum, or `missing` (their call ended while the engine was away)."""
        if self.leftovers_done:
            return
        self.leftovers_done = True
        live = set(self.registry.calls)
        for row in await self.index.unfinished():
            if row.interaction_id in live:
                continue
            seen = self.config.seen_directory
            size, digest = (None, None) if seen is None else await asyncio.to_thread(
                file_facts, self.local_path(row.path))
            if seen is None:
                fields: dict[str, Any] = {"status": "complete",
                                          "note": "closed at restart; directory not visible"}
            elif size is None:
                fields = {"status": "missing", "note": "closed at restart: no file"}
            else:
                fields = {"status": "complete", "size": size, "checksum": digest,
                          "note": "closed at restart (the call ended while the engine was away)"}
            self.index.submit_update(self.journal, row.interaction_id, row.segment, fields)
            self.log.info("recording.closed_at_restart", call_id=row.interaction_id,
                          segment=row.segment, status=fields["status"])

    def _save(self, seg: Segment, **fields: Any) -> None:
        self.index.submit_update(self.journal, seg.call_id, seg.number, fields)

    # --- pauses -----------------------------------------------------------------------

    def _card_data(self, ev: CardDataCollection) -> None:
        if ev.call_id in self.active:
            self._spawn(self._mute(ev.call_id, "card_data", ev.active))

    async def _mute(self, call_id: str, reason: str, on: bool) -> str | None:
        seg = self.active.get(call_id)
        if seg is None:
            return "the call is not being recorded"
        was_muted = bool(seg.muted)
        if on:
            if reason in seg.muted:
                return "recording is already paused"
            seg.muted.add(reason)
        else:
            if reason not in seg.muted:
                return "recording is not paused"
            seg.muted.discard(reason)
        now = self.clock()
        if bool(seg.muted) != was_muted:
            try:
                await self.ami.send(actions.mixmonitor_mute(seg.channel, bool(seg.muted)))
            except AmiError as exc:
                self.log.warning("recording.mute_failed", call_id=call_id, error=str(exc))
                (seg.muted.discard if on else seg.muted.add)(reason)
                return f"Asterisk refused: {exc}"
        if on:
            seg.paused.append({"start": now, "end": None, "reason": reason})
        else:
            for p in reversed(seg.paused):
                if p["reason"] == reason and p["end"] is None:
                    p["end"] = now
                    break
        self._save(seg, paused=[dict(p) for p in seg.paused])
        self.bus.publish(CallStepped(call_id, "recording.paused" if on else "recording.resumed",
                                     now, {"segment": seg.number, "reason": reason}))
        return None

    def _pause_key(self, channel: str, _code: str, _body: str) -> bool:
        """An agent pressed *7 during a recorded call: pause, or resume."""
        agent = self.by_channel.get(channel)
        if agent is None:
            return False
        call_id = self.by_agent[agent][0]
        seg = self.active.get(call_id)
        if seg is not None:
            self._spawn(self._mute(call_id, "agent", "agent" not in seg.muted))
        return True

    # --- an agent's commands ----------------------------------------------------------

    def command(self, agent_id: str, action: str, target: str | None = None) -> str | None:
        """pause_recording / resume_recording / start_recording / stop_recording for the
        agent's own call; listen / whisper / barge on `target` for supervisors. Returns why
        it was refused, or None when it is under way."""
        if agent_id not in self.people:
            return f"unknown agent {agent_id!r}"
        if action in SPY_OPTIONS:
            return self.monitoring.monitor(agent_id, target or "", action)
        current = self.by_agent.get(agent_id)
        if current is None:
            return "not on a call"
        call_id = current[0]
        seg = self.active.get(call_id)
        if action in ("pause_recording", "resume_recording"):
            if seg is None:
                return "the call is not being recorded"
            on = action == "pause_recording"
            if on == ("agent" in seg.muted):
                return "recording is already paused" if on else "recording is not paused"
            self._spawn(self._mute(call_id, "agent", on))
            return None
        if action == "start_recording":
            if seg is not None:
                return "the call is already being recorded"
            policy_name, _, queue = self.skipped.get(call_id, (None, None, None))
            if policy_name is None:
                return "the call has no recording policy yet"
            policy = self.config.policies[policy_name]
            if policy.mode == "never":
                return f"policy {policy_name!r} never records"
            call = self.registry.calls.get(call_id)
            if call is None:
                return "the call has ended"
            self._spawn(self._start(call_id, call.channel, policy_name, agent_id, queue,
                                    bridged_only=True, number=call.caller_num))
            return None
        if action == "stop_recording":
            if seg is None:
                return "the call is not being recorded"
            if seg.mode != "on_demand":
                return f"policy {seg.policy!r} records the whole call; use pause_recording"
            self._spawn(self._stop(call_id, "agent"))
            return None
        return f"unknown action {action!r}"

    # --- retention --------------------------------------------------------------------

    async def _retention(self) -> None:
        while True:
            try:
                await self.purge(actor="retention")
            except Exception as exc:  # a locked database: the next round tries again
                self.log.warning("recording.purge_failed", error=str(exc)[:200])
            await asyncio.sleep(self.config.purge_every)

    async def purge(self, *, actor: str, now: float | None = None) -> list[int]:
        return await purge_files(self.index, self.config, actor=actor,
                                 now=self.clock() if now is None else now)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self.tasks.spawn(coro)
