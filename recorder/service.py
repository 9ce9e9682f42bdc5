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
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from asterisk.client import AmiClient
from asterisk.errors import AmiError
from asterisk.events import AmiEvent, DTMFEnd
from core.bus import Bus
from core.events import CallAnswered, CallConnected, CallEnded, CallStarted, CallStepped
from core.registry import Registry
from core.store import Journal
from core.tasks import Tasks
from recorder.index import RecordingIndex
from recorder.model import RecordingConfig
from recorder.policy import Held, Record, decide, purge_due, recording_path

SPY_OPTIONS = {"listen": "qEd", "whisper": "qEdw", "barge": "qEdB"}
SPY_CODES = {"*31": "listen", "*32": "whisper", "*33": "barge"}
PAUSE_KEYS = ("*", "7")  # an agent's DTMF during the call toggles the pause


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


@dataclass(frozen=True, slots=True)
class Person:
    """What the recorder needs to know of someone in agents.yaml."""

    id: str
    role: str
    device: str
    extension: str | None


class RecorderService:
    def __init__(self, bus: Bus, ami: AmiClient, index: RecordingIndex, journal: Journal,
                 registry: Registry, config: RecordingConfig, people: list[Person], *,
                 clock: Callable[[], float] = time.time, settle: float = 1.0) -> None:
        self.bus = bus
        self.ami = ami
        self.index = index
        self.journal = journal
        self.registry = registry
        self.config = config
        self.people = {p.id: p for p in people}
        self.clock = clock
        self.settle = settle  # wait for Asterisk to close a file before checking it
        self.active: dict[str, Segment] = {}  # call_id -> its open segment
        self.segments: dict[str, int] = {}  # call_id -> segments so far
        self.skipped: dict[str, tuple[str, str | None, str | None]] = {}  # call -> policy, agent, queue
        self.calls: dict[str, str] = {}  # call_id -> kind
        self.by_agent: dict[str, tuple[str, str]] = {}  # agent -> (call_id, agent channel)
        self.keys: dict[str, tuple[str, float]] = {}  # agent channel -> (keys so far, when)
        self.spies: dict[str, str] = {}  # spy leg channel -> supervisor
        self.tasks = Tasks(structlog.get_logger("recorder"), "recorder.task_failed")
        self.log = structlog.get_logger("recorder")
        bus.subscribe(CallStarted, self._started)
        bus.subscribe(CallAnswered, self._answered)
        bus.subscribe(CallConnected, self._connected)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CallStepped, self._stepped)

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
            self.log.error("recorder.directory_unwritable", directory=str(seen), error=str(exc))

    def announcement(self, queue: str) -> list[str]:
        """What a caller hears on entering `queue` under its policy ("calls may be recorded")."""
        _, policy = self.config.policy_for(kind="inbound", queue=queue)
        return list(policy.announce) if policy.mode != "never" else []

    # --- calls ------------------------------------------------------------------------

    def _started(self, ev: CallStarted) -> None:
        self.calls[ev.call_id] = ev.kind
        code, rest = ev.dnis[:3], ev.dnis[3:]
        if ev.context == "centralita-agents" and code in SPY_CODES and not ev.adopted:
            self._spawn(self._spy_from_phone(ev, SPY_CODES[code], rest))

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
        self.by_agent[ev.agent_id] = (ev.call_id, ev.agent_channel)
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
                          bridged_only=policy.start == "bridge", number=number)

    async def _start(self, call_id: str, channel: str, policy_name: str, agent: str | None,
                     queue: str | None, *, bridged_only: bool, number: str = "") -> str | None:
        """MixMonitor and the segment's row; None when recording, else why not."""
        policy = self.config.policies[policy_name]
        now = self.clock()
        n = self.segments.get(call_id, 0) + 1
        self.segments[call_id] = n
        decision = Record(recording_path(self.config.directory, policy.naming, policy.format,
                                         at=now, interaction=call_id, segment=n,
                                         agent=agent or "", queue=queue or "", number=number,
                                         kind=self.calls.get(call_id, "")), bridged_only)
        seg = Segment(call_id, n, channel, decision.path, policy_name, now, agent, queue,
                      policy.mode)
        fields = {"interaction_id": call_id, "segment": n, "agent": agent, "queue": queue,
                  "customer_number": number, "policy": policy_name, "format": policy.format,
                  "channel": channel, "path": decision.path, "started_at": now}
        try:
            await self.ami.send("MixMonitor", {"Channel": channel, "File": decision.path,
                                               "Options": "b" if decision.bridged_only else ""})
        except AmiError as exc:
            # No recording, but a row that says so: nothing half-way without a trace.
            self.index.submit_start(self.journal, {**fields, "status": "failed", "ended_at": now,
                                                   "note": f"MixMonitor refused: {exc}"[:300]})
            self.bus.publish(CallStepped(call_id, "recording.failed", now,
                                         {"segment": n, "error": str(exc)[:200]}))
            self.log.warning("recorder.start_failed", call_id=call_id, error=str(exc))
            return f"Asterisk refused to record: {exc}"
        self.active[call_id] = seg
        self.skipped.pop(call_id, None)
        self.index.submit_start(self.journal, {**fields, "status": "recording"})
        self.bus.publish(CallStepped(call_id, "recording.started", now, {
            "segment": n, "policy": policy_name, "path": decision.path, "agent": agent}))
        self.log.info("recorder.started", call_id=call_id, agent=agent, queue=queue,
                      segment=n, path=decision.path)
        return None

    async def _stop(self, call_id: str, why: str) -> None:
        seg = self.active.get(call_id)
        if seg is None:
            return
        with contextlib.suppress(AmiError):
            await self.ami.send("StopMixMonitor", {"Channel": seg.channel})
        self._close(seg, why)

    def _ended(self, ev: CallEnded) -> None:
        self.calls.pop(ev.call_id, None)
        self.skipped.pop(ev.call_id, None)
        self.segments.pop(ev.call_id, None)
        for agent, (call_id, channel) in list(self.by_agent.items()):
            if call_id == ev.call_id:
                del self.by_agent[agent]
                self.keys.pop(channel, None)
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
            self.log.warning("recorder.file_missing", call_id=seg.call_id, path=str(local))
            return
        self._save(seg, status="complete", size=size, checksum=digest)

    def local_path(self, path: str) -> Path:
        return local_path(self.config, path)

    def _save(self, seg: Segment, **fields: Any) -> None:
        self.index.submit_update(self.journal, seg.call_id, seg.number, fields)

    # --- pauses -----------------------------------------------------------------------

    def _stepped(self, ev: CallStepped) -> None:
        if ev.kind == "ivr.payment_capture" and ev.call_id in self.active:
            started = ev.data.get("state") == "started"
            self._spawn(self._mute(ev.call_id, "card_data", started))

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
                await self.ami.send("MixMonitorMute", {"Channel": seg.channel,
                                                       "Direction": "both",
                                                       "State": "1" if seg.muted else "0"})
            except AmiError as exc:
                self.log.warning("recorder.mute_failed", call_id=call_id, error=str(exc))
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

    def on_ami_event(self, ev: AmiEvent) -> None:
        """An agent presses * 7 during a recorded call: pause, or resume."""
        if not isinstance(ev, DTMFEnd) or ev.direction != "Received":
            return
        agent = next((a for a, (_, ch) in self.by_agent.items() if ch == ev.channel), None)
        if agent is None:
            return
        keys, at = self.keys.get(ev.channel, ("", 0.0))
        now = self.clock()
        keys = (keys if now - at < 3.0 else "") + ev.digit
        if keys.endswith("".join(PAUSE_KEYS)):
            keys = ""
            call_id = self.by_agent[agent][0]
            seg = self.active.get(call_id)
            if seg is not None:
                self._spawn(self._mute(call_id, "agent", "agent" not in seg.muted))
        self.keys[ev.channel] = (keys[-len(PAUSE_KEYS):], now)

    # --- an agent's commands ----------------------------------------------------------

    def command(self, agent_id: str, action: str, target: str | None = None) -> str | None:
        """pause_recording / resume_recording / start_recording / stop_recording for the
        agent's own call; listen / whisper / barge on `target` for supervisors. Returns why
        it was refused, or None when it is under way."""
        if agent_id not in self.people:
            return f"unknown agent {agent_id!r}"
        if action in SPY_OPTIONS:
            return self.monitor(agent_id, target or "", action)
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

    # --- live monitoring --------------------------------------------------------------

    def monitor(self, supervisor: str, agent: str, mode: str) -> str | None:
        """A supervisor's own phone rings; answered, it spies on the agent's call."""
        why = self._may_spy(supervisor, agent, mode)
        if why is not None:
            return why
        _, channel = self.by_agent[agent]
        self._spawn(self._spy_leg(supervisor, agent, channel, mode))
        return None

    def _may_spy(self, supervisor: str, agent: str, mode: str) -> str | None:
        person = self.people.get(supervisor)
        if person is None or person.role != "supervisor":
            self.index.submit_audit(self.journal, self.clock(), supervisor, mode, agent,
                                    allowed=False, detail={"why": "not a supervisor"})
            return "only supervisors may listen to live calls"
        if agent not in self.people:
            return f"unknown agent {agent!r}"
        if agent not in self.by_agent:
            return f"agent {agent} is not on a call"
        if mode not in SPY_OPTIONS:
            return f"unknown mode {mode!r}"
        return None

    async def _spy_leg(self, supervisor: str, agent: str, channel: str, mode: str) -> None:
        person = self.people[supervisor]
        call_id = self.by_agent.get(agent, ("", ""))[0]
        now = self.clock()
        self.index.submit_audit(self.journal, now, supervisor, mode, agent, allowed=True,
                                detail={"call_id": call_id, "from": "mqtt"})
        self.bus.publish(CallStepped(call_id, "monitor.started", now,
                                     {"supervisor": supervisor, "agent": agent, "mode": mode}))
        try:
            outcome = await self.ami.originate({
                "Channel": person.device, "Application": "ChanSpy",
                "Data": f"{channel},{SPY_OPTIONS[mode]}", "Timeout": "30000",
                "CallerID": f"{mode} {agent} <{agent}>"})
            response = await asyncio.wait_for(outcome, 60)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("recorder.spy_failed", supervisor=supervisor, agent=agent,
                             error=str(exc))
            return
        if not response.success:
            self.bus.publish(CallStepped(call_id, "monitor.unanswered", self.clock(),
                                         {"supervisor": supervisor, "agent": agent}))

    async def _spy_from_phone(self, ev: CallStarted, mode: str, agent_key: str) -> None:
        """*31N listen, *32N whisper, *33N barge (N: agent id or extension), dialled from
        the supervisor's own desk phone; keys 4/5/6 switch modes during it."""
        supervisor = next((p.id for p in self.people.values()
                           if (p.extension and p.extension == ev.caller_num)
                           or ev.channel.startswith(p.device + "-")), "")
        agent = next((p.id for p in self.people.values()
                      if agent_key in (p.id, p.extension)), agent_key)
        why = self._may_spy(supervisor, agent, mode) if supervisor else "no agent on this phone"
        agi = self.ami.agi
        try:
            await agi(ev.channel, "ANSWER", timeout=10)
            if why is not None:
                self.bus.publish(CallStepped(ev.call_id, "monitor.refused", self.clock(),
                                             {"supervisor": supervisor, "agent": agent,
                                              "why": why}))
                await agi(ev.channel, "EXEC Playback invalid", timeout=30)
                await agi(ev.channel, "HANGUP", timeout=10)
                return
            call_id, channel = self.by_agent[agent]
            self.index.submit_audit(self.journal, self.clock(), supervisor, mode, agent,
                                    allowed=True, detail={"call_id": call_id, "from": "phone"})
            self.bus.publish(CallStepped(call_id, "monitor.started", self.clock(),
                                         {"supervisor": supervisor, "agent": agent, "mode": mode}))
            await agi(ev.channel, f"EXEC ChanSpy {channel},{SPY_OPTIONS[mode]}", timeout=14400)
            await agi(ev.channel, "HANGUP", timeout=10)
        except AmiError:
            return

    # --- retention --------------------------------------------------------------------

    async def _retention(self) -> None:
        while True:
            try:
                await self.purge(actor="retention")
            except Exception as exc:  # a locked database: the next round tries again
                self.log.warning("recorder.purge_failed", error=str(exc)[:200])
            await asyncio.sleep(self.config.purge_every)

    async def purge(self, *, actor: str, now: float | None = None) -> list[int]:
        return await purge_files(self.index, self.config, actor=actor,
                                 now=self.clock() if now is None else now)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self.tasks.spawn(coro)


def file_facts(path: Path) -> tuple[int | None, str | None]:
    """(size, 'sha256:<hex>') of a file, or (None, None) when it is not there."""
    try:
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
    except OSError:
        return None, None
    return size, "sha256:" + h.hexdigest()


def local_path(config: RecordingConfig, path: str) -> Path:
    """Where the engine sees a file Asterisk wrote at `path`."""
    seen = config.seen_directory
    if seen is None or not path.startswith(config.directory):
        return Path(path)
    return seen / path[len(config.directory):].lstrip("/")


async def purge_files(index: RecordingIndex, config: RecordingConfig, *, actor: str, now: float,
                      dry_run: bool = False) -> list[int]:
    """Delete files past their policy's retention (never on legal hold); rows stay, with
    status `deleted`, and each deletion is in the audit log. Returns the recording ids."""
    log = structlog.get_logger("recorder")
    if config.seen_directory is None:
        log.warning("recorder.purge_skipped", why="the recordings directory is not visible")
        return []
    rows = await index.purgeable()
    days = {name: p.retain_days for name, p in config.policies.items()}
    due = purge_due((Held(r.id, r.policy, r.ended_at.timestamp() if r.ended_at else None,
                          r.status, r.legal_hold) for r in rows), days, now)
    if dry_run:
        return due
    paths = {r.id: r.path for r in rows}
    done = []
    for rec_id in due:
        local = local_path(config, paths[rec_id])
        try:
            await asyncio.to_thread(local.unlink, True)
        except OSError as exc:
            log.warning("recorder.delete_failed", recording=rec_id, error=str(exc))
            continue
        await index.mark_deleted(rec_id, now)
        await index.audit(now, actor, "delete", str(rec_id), allowed=True,
                          detail={"path": paths[rec_id], "why": "retention"})
        log.info("recorder.deleted", recording=rec_id, path=paths[rec_id])
        done.append(rec_id)
    return done
