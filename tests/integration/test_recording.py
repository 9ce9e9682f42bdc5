"""Recording and live monitoring on the simulated PBX: policies, pauses with stored
intervals, the file indexed with its checksum, retention with legal hold, roles and the
audit log, and supervisors' listen / whisper / barge legs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine
from core.models import RecordingRow
from core.settings import (
    AcdSettings,
    AmiSettings,
    DatabaseSettings,
    IvrSettings,
    MqttSettings,
    RecordingSettings,
    Settings,
)
from core.store import Store
from recorder import commands
from recorder.index import Filters, RecordingIndex
from recorder.model import load_recording
from sim.endpoints import Endpoint, caller
from sim.pbx import Channel, Pbx
from sim.server import AmiServer
from tests.conftest import until
from tests.integration.conftest import send

Sim = tuple[Pbx, AmiServer]

IVR = """\
default_menu: main
nodes:
  main:
    type: menu
    prompts: [hello-world]
    options:
      "1": {queue: support}
      "2": {queue: sales}
      "3": pay
    timeout: 3
    retries: 0
    fallback: {queue: support}
  pay:
    type: capture
    prompt: vm-enter-num-to-call
    field: card
    min_digits: 4
    max_digits: 8
    payment: true
    next: {queue: support}
    fallback: {queue: support}
"""
QUEUES = """\
queues:
  support:
    ring_timeout: 10
    wrapup: 1
    announcements: {entry: queue-thankyou, position_every: null}
  sales:
    ring_timeout: 3
    wrapup: 1
    announcements: {entry: null, position_every: null}
"""
AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, extension: "1001", queues: {support: 0, sales: 0},
     login: true}
  - {id: "1004", device: PJSIP/agent1004, extension: "1004", queues: {support: 1}, login: true}
  - {id: "9001", device: PJSIP/sup9001, extension: "9001", role: supervisor}
  - {id: "8001", device: PJSIP/qa8001, extension: "8001", role: qa}
"""
RECORDING = """\
directory: DIR
policies:
  standard: {mode: always, announce: [conf-now-recording], retain_days: 30,
             naming: "{date}/{queue}/{interaction}-{segment}-{agent}"}
  demand: {mode: on_demand, retain_days: 30}
  whole: {mode: always, start: answer}
  never: {mode: never}
default: standard
queues: {sales: demand}
internal: never
forms:
  basic:
    pass_mark: 70
    criteria:
      - {id: greeting, weight: 1}
      - {id: verified, weight: 2, critical: true}
      - {id: resolution, weight: 3, scale: "1-5"}
"""


@dataclass
class Rig:
    pbx: Pbx
    server: AmiServer
    engine: Engine
    db: str
    directory: Path

    def call(self, keys: str = "1", patience: float = 60.0, number: str = "+34911000001") -> Channel:
        digits = tuple((0.3, k) for k in keys)
        return self.pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                                      caller_num=number,
                                      endpoint=caller(digits, patience=patience, reactive=True))

    async def rows(self) -> list[RecordingRow]:
        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            return await RecordingIndex(store).find(Filters())
        finally:
            await store.close()

    def sent(self, action: str) -> list[Any]:
        return [m for m in self.server.received if m.get("Action") == action]

    def recording(self) -> bool:
        """Whether the PBX is recording a channel now (MixMonitor running) and the engine
        knows it (its MixMonitor action answered)."""
        recorder = self.engine.recorder
        return any(c.mixmonitor for c in self.pbx.channels.values()) and \
            recorder is not None and bool(recorder.active)

    def state(self, agent: str) -> str:
        return self.engine.pool.state(agent)

    def send(self, sender: str, action: str, **fields: Any) -> str | None:
        return send(self.engine, sender, action, **fields)

    async def purge(self, *, actor: str, now: float) -> list[int]:
        assert self.engine.recorder is not None
        return await self.engine.recorder.purge(actor=actor, now=now)


@pytest.fixture
async def rec(sim: Sim, tmp_path: Path, mqtt_url: str, database_url: str,
              run_engine: Callable[..., Any]) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    pbx, server = sim

    async def make(phones: dict[str, Endpoint] | None = None, recording: str = RECORDING,
                   prefix: str = "rec/", write_files: bool = True, ivr: str = IVR,
                   payments: Any = None) -> Rig:
        directory = tmp_path / "monitor"
        (tmp_path / "ivr.yaml").write_text(ivr)
        (tmp_path / "queues.yaml").write_text(QUEUES)
        (tmp_path / "agents.yaml").write_text(AGENTS)
        (tmp_path / "recording.yaml").write_text(recording.replace("DIR", str(directory)))
        db = database_url
        settings = Settings(
            ami=AmiSettings(url=f"ami://centralita:centralita-secret@127.0.0.1:{server.port}"),
            database=DatabaseSettings(url=db),
            mqtt=MqttSettings(url=mqtt_url, prefix=prefix, client_id=uuid.uuid4().hex[:8]),
            ivr=IvrSettings(file=str(tmp_path / "ivr.yaml")),
            acd=AcdSettings(queues=str(tmp_path / "queues.yaml"),
                            agents=str(tmp_path / "agents.yaml")),
            recording=RecordingSettings(file=str(tmp_path / "recording.yaml"), settle=0.2))
        pbx.monitor_dir = str(tmp_path) if write_files else None
        pbx.endpoints.update(phones if phones is not None else
                             {"agent1001": Endpoint(answer_after=0.5, talk_time=None)})
        engine = Engine(settings, payments=payments)
        await run_engine(engine)
        return Rig(pbx, server, engine, db, directory)

    yield make


def agent_leg(ch: Channel) -> Channel:
    assert ch.bridge is not None
    return next(c for c in ch.bridge.channels if c is not ch)


async def test_an_always_policy_records_from_the_bridge_and_indexes_the_file(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec({"agent1001": Endpoint(answer_after=6.0, talk_time=None)})  # after the prompts
    ch = rig.call(patience=30)
    await until(lambda: ch.bridge is not None, 15, "caller and agent bridged")
    await until(lambda: bool(rig.sent("MixMonitor")), 5, "MixMonitor")
    [mm] = rig.sent("MixMonitor")
    assert mm.get("Channel") == ch.name and mm.get("Options") == "b"  # never the queue wait
    path = mm.get("File")
    assert path.startswith(str(rig.directory)) and "/support/" in path and path.endswith("-1-1001.wav")
    # the caller heard "calls are recorded" before the queue's own entry message
    cmds = [m.get("Command") for m in rig.server.received
            if m.get("Action") == "AGI" and m.get("Channel") == ch.name]
    at = cmds.index("GET DATA conf-now-recording 1 1")
    assert cmds[at + 1] == "GET DATA queue-thankyou 1 1"
    await asyncio.sleep(0.5)
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")

    async def settled() -> RecordingRow:
        for _ in range(100):
            rows = await rig.rows()
            if rows and rows[0].status != "recording":
                return rows[0]
            await asyncio.sleep(0.05)
        raise AssertionError("the recording row never settled")

    row = await settled()
    data = Path(path).read_bytes()
    assert row.status == "complete" and row.size == len(data) > 44
    assert row.checksum == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (row.agent, row.queue, row.segment, row.policy) == ("1001", "support", 1, "standard")
    assert row.customer_number == "+34911000001" and row.duration_s > 0 and row.ended_at
    kinds = [e.kind for e in await rig.engine.store.events(row.interaction_id)]
    assert "recording.started" in kinds and "recording.stopped" in kinds


async def test_on_demand_records_only_what_the_agent_asks_for(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec()
    ch = rig.call("2")  # sales: on demand
    await until(lambda: ch.bridge is not None, 15, "bridged")
    await until(lambda: rig.state("1001") == "on_call", 5, "the recorder to know the agent")
    await asyncio.sleep(0.3)
    assert not rig.sent("MixMonitor")
    assert rig.send("1001", "pause_recording") == "the call is not being recorded"
    assert rig.send("1001", "stop_recording") == "the call is not being recorded"
    assert rig.send("1001", "start_recording") is None
    await until(lambda: bool(rig.sent("MixMonitor")), 5, "MixMonitor on demand")
    await until(lambda: rig.recording(), 5, "recording")
    assert rig.send("1001", "start_recording") == "the call is already being recorded"
    assert rig.send("1001", "stop_recording") is None
    await until(lambda: bool(rig.sent("StopMixMonitor")), 5, "StopMixMonitor")
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.5)
    [row] = await rig.rows()
    assert (row.policy, row.status, row.queue) == ("demand", "complete", "sales")
    assert rig.send("1001", "start_recording") == "not on a call"
    assert rig.send("7777", "start_recording") == "unknown agent '7777'"


async def test_agent_pauses_are_stored_as_intervals_including_a_key_press(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec()
    ch = rig.call(patience=60)
    await until(lambda: rig.recording(), 15, "recording")
    assert rig.send("1001", "resume_recording") == "recording is not paused"
    assert rig.send("1001", "pause_recording") is None
    await until(lambda: len(rig.sent("MixMonitorMute")) == 1, 5, "muted")
    assert rig.send("1001", "pause_recording") == "recording is already paused"
    await asyncio.sleep(0.3)
    assert rig.send("1001", "resume_recording") is None
    await until(lambda: len(rig.sent("MixMonitorMute")) == 2, 5, "unmuted")
    leg = agent_leg(ch)
    for digit in "*7":  # the agent's keypad during the call
        rig.pbx.send_dtmf(leg, digit)
        await asyncio.sleep(0.05)
    await until(lambda: len(rig.sent("MixMonitorMute")) == 3, 5, "muted by * 7")
    assert [m.get("State") for m in rig.sent("MixMonitorMute")] == ["1", "0", "1"]
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.5)
    [row] = await rig.rows()
    assert [p["reason"] for p in row.paused] == ["agent", "agent"]
    first, second = row.paused
    assert first["end"] - first["start"] >= 0.25
    assert second["end"] is not None  # closed at the hang-up: a reviewer sees the gap's end


async def test_card_digits_in_the_ivr_are_never_recorded(rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec(recording=RECORDING.replace("default: standard", "default: whole"))
    ch = rig.call("3" + "4111#", patience=40)  # the payment capture, then the queue
    await until(lambda: ch.bridge is not None, 20, "bridged after paying")
    [mm] = rig.sent("MixMonitor")
    assert mm.get("Options") == ""  # `answer`: the IVR and the wait are recorded too
    mutes = [m.get("State") for m in rig.sent("MixMonitorMute")]
    assert mutes == ["1", "0"]
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.5)
    [row] = await rig.rows()
    assert [p["reason"] for p in row.paused] == ["card_data"]
    assert row.agent == "1001"  # the agent joined the segment that began at the answer


async def test_a_file_asterisk_could_not_write_is_marked_missing(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec(write_files=False)
    ch = rig.call(patience=20)
    await until(lambda: bool(rig.sent("MixMonitor")), 15, "recording")
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.6)
    [row] = await rig.rows()
    assert row.status == "missing" and "no file" in row.note and row.size is None


async def test_never_records_and_says_why(rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec(recording=RECORDING.replace("default: standard", "default: never"))
    ch = rig.call(patience=20)
    await until(lambda: ch.bridge is not None, 15, "bridged")
    await asyncio.sleep(0.3)
    assert not rig.sent("MixMonitor")
    call_id = rig.engine.registry.call_of(ch.name).call_id  # type: ignore[union-attr]
    await rig.engine.journal.drain()
    events = await rig.engine.store.events(call_id)
    assert [e.data["why"] for e in events if e.kind == "recording.skipped"] == ["policy: never"]


async def test_retention_deletes_old_files_but_not_those_on_legal_hold(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec()
    for n in range(2):
        ch = rig.call(patience=10, number=f"+3491100000{n}")
        await until(lambda: rig.recording(), 15, "recording")
        rig.pbx.request_hangup(ch)
        await until(lambda: ch.gone and not rig.recording(), 5, "hang-up")  # noqa: B023
        await until(lambda: rig.state("1001") == "ready", 10, "agent ready")
    await asyncio.sleep(0.5)
    first, second = sorted(await rig.rows(), key=lambda r: r.id)
    index = RecordingIndex(rig.engine.store)
    assert await index.set_legal_hold(first.id, True)
    assert await rig.purge(actor="test", now=time.time() + 29 * 86400) == []
    deleted = await rig.purge(actor="test", now=time.time() + 31 * 86400)
    assert deleted == [second.id]
    assert Path(first.path).exists() and not Path(second.path).exists()
    rows = {r.id: r for r in await rig.rows()}
    assert rows[second.id].status == "deleted" and rows[second.id].deleted_at is not None
    assert rows[first.id].status == "complete"
    audit = await index.audit_log()
    assert [(a.actor, a.action, a.target) for a in audit if a.action == "delete"] == [
        ("test", "delete", str(second.id))]


async def test_only_supervisors_and_qa_reach_recordings_and_every_access_is_audited(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec()
    ch = rig.call(patience=10)
    await until(lambda: rig.recording(), 15, "recording")
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.5)
    [row] = await rig.rows()
    config = load_recording(Path(rig.directory.parent / "recording.yaml"))
    roles = {"1001": "agent", "9001": "supervisor", "8001": "qa"}

    async def as_(user: str, work: Callable[[commands.Desk], Awaitable[int]]) -> tuple[int, str]:
        out = io.StringIO()
        try:
            code = await commands.with_desk(rig.db, config, roles, user, out, work)
        except commands.Refused as exc:
            return 1, str(exc)
        return code, out.getvalue()

    code, text = await as_("1001", lambda d: commands.list_(d, Filters()))
    assert code == 1 and "only supervisor and qa roles" in text
    code, text = await as_("9001", lambda d: commands.list_(d, Filters(agent="1001")))
    assert code == 0 and row.interaction_id in text and "1 recording(s)" in text
    code, text = await as_("8001", lambda d: commands.score_(
        d, row.id, "basic", ["greeting=yes", "verified=yes", "resolution=4"]))
    assert code == 0 and "87.5% passed" in text
    code, text = await as_("8001", lambda d: commands.score_(
        d, row.id, "basic", ["greeting=yes", "verified=no", "resolution=5"]))
    assert "FAILED" in text and "critical: verified" in text
    code, text = await as_("8001", lambda d: commands.score_(d, row.id, "basic", ["greeting=maybe"]))
    assert code == 1 and "criterion 'greeting' takes yes or no, not 'maybe'" in text
    code, text = await as_("9001", commands.report)
    assert "1001" in text and "2" in text
    code, text = await as_("9001", lambda d: commands.verify(d, Filters()))
    assert code == 0 and "0 with problems" in text
    Path(row.path).write_bytes(b"tampered")
    code, text = await as_("9001", lambda d: commands.verify(d, Filters()))
    assert code == 1 and f"CHANGED  {row.id}" in text
    Path(row.path).unlink()
    code, text = await as_("9001", lambda d: commands.verify(d, Filters()))
    assert code == 1 and f"MISSING  {row.id}" in text
    audit = await RecordingIndex(rig.engine.store).audit_log()
    trail = [(a.actor, a.action, a.allowed) for a in reversed(audit)]
    assert trail[0] == ("1001", "list", False)
    assert ("9001", "list", True) in trail and ("8001", "score", True) in trail
    assert sum(1 for a in trail if a[1] == "verify") == 3


async def test_a_supervisor_listens_then_whispers_and_others_may_not(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "sup9001": Endpoint(answer_after=0.5, talk_time=None,
                                         digits=((1.0, "5"),))})
    assert rig.send("9001", "listen", agent="1001") == "agent 1001 is not on a call"
    ch = rig.call(patience=60)
    await until(lambda: rig.state("1001") == "on_call", 15, "agent on the call")
    leg = agent_leg(ch)
    assert rig.send("1001", "listen", agent="1001") == "only supervisors may listen to live calls"
    assert rig.send("8001", "barge", agent="1001") == "only supervisors may listen to live calls"
    assert rig.send("9001", "listen", agent="4242") == "unknown agent '4242'"
    assert rig.send("9001", "listen", agent="1001") is None
    await until(lambda: any(e for e in rig.pbx.spy_modes.values()), 10, "the supervisor spying")
    [orig] = [m for m in rig.sent("Originate") if m.get("Channel") == "PJSIP/sup9001"]
    assert (orig.get("Application"), orig.get("Data")) == ("ChanSpy", f"{leg.name},qEd")
    await until(lambda: next(iter(rig.pbx.spy_modes.values())) == ["listen", "whisper"], 10,
                "key 5: whisper")
    rig.pbx.request_hangup(ch)
    await asyncio.sleep(0.5)
    audit = await RecordingIndex(rig.engine.store).audit_log()
    trail = [(a.actor, a.action, a.target, a.allowed) for a in reversed(audit)]
    assert trail == [("1001", "listen", "1001", False), ("8001", "barge", "1001", False),
                     ("9001", "listen", "1001", True)]


async def test_a_supervisor_barges_in_from_their_desk_phone(rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec()
    ch = rig.call(patience=60)
    await until(lambda: rig.state("1001") == "on_call", 15, "agent on the call")
    leg = agent_leg(ch)
    phone = rig.pbx.incoming_call(trunk="sup9001", context="centralita-agents", dnis="*331001",
                                  caller_num="9001", endpoint=Endpoint(talk_time=None))
    await until(lambda: any(m.get("Command") == f"EXEC ChanSpy {leg.name},qEdB"
                            for m in rig.sent("AGI") if m.get("Channel") == phone.name), 10,
                "ChanSpy in barge mode")
    await until(lambda: ["barge"] in rig.pbx.spy_modes.values(), 5, "barging")
    assert not [m for m in rig.sent("AGI") if m.get("Command") == "EXEC Playback invalid"]
    rig.pbx.request_hangup(ch)
    await until(lambda: phone.gone, 10, "ChanSpy ends with the call (E)")


async def test_a_transfer_gives_the_call_a_second_linked_segment(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    phones = {"agent1001": Endpoint(answer_after=0.5, talk_time=None),
              "agent1004": Endpoint(answer_after=0.5, talk_time=None)}
    rig = await rec(phones)
    ch = rig.call(patience=60)
    await until(lambda: rig.recording(), 15, "recording with the first agent")
    first = next(a for a in ("1001", "1004") if rig.state(a) == "on_call")
    other = "1004" if first == "1001" else "1001"
    assert rig.send(first, "transfer", target=f"agent:{other}") is None
    await until(lambda: len(rig.sent("MixMonitor")) == 2, 15, "recording with the second agent")
    await asyncio.sleep(0.3)
    rig.pbx.request_hangup(ch)
    await until(lambda: ch.gone, 5, "hang-up")
    await asyncio.sleep(0.6)
    rows = sorted(await rig.rows(), key=lambda r: r.segment)
    assert [(r.segment, r.agent, r.status) for r in rows] == [(1, first, "complete"),
                                                              (2, other, "complete")]
    assert rows[0].interaction_id == rows[1].interaction_id  # linked to the same interaction
    assert rows[0].path != rows[1].path and rows[0].ended_at <= rows[1].started_at
    assert [m.get("Channel") for m in rig.sent("StopMixMonitor")] == [ch.name]


async def test_supervisors_ask_over_mqtt_and_bad_requests_get_a_reason(
        rec: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    import aiomqtt

    from tests.integration.conftest import Subscriber

    prefix = f"rec{uuid.uuid4().hex[:6]}/"
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await rec(prefix=prefix)
        await until(lambda: rig.engine.listener is not None and rig.engine.listener.subscribed,
                    10, "the command listener")
        host, port = mqtt_url.removeprefix("mqtt://").split(":")
        async with aiomqtt.Client(host, int(port)) as client:
            async def send(agent: str, body: str) -> dict[str, Any]:
                seen = len([t for t, _ in sub.messages if t.endswith(f"{agent}/replies")])
                await client.publish(f"{prefix}agents/{agent}/commands", body, qos=1)
                await until(lambda: len([t for t, _ in sub.messages
                                         if t.endswith(f"{agent}/replies")]) > seen, 10, "a reply")
                return [p for t, p in sub.messages if t.endswith(f"{agent}/replies")][-1]

            assert (await send("1001", '{"action": "pause_recording"}'))["error"] == "not on a call"
            assert (await send("9001", '{"action": "listen", "agent": "1001"}'))["error"] == \
                "agent 1001 is not on a call"
            assert (await send("1001", '{"action": "barge", "agent": "1004"}'))["error"] == \
                "only supervisors may listen to live calls"
            assert (await send("1001", '{"action": "transfer"}'))["error"] == \
                "target: Field required"
            from structlog.testing import capture_logs

            with capture_logs() as logs:
                assert (await send("1001", '{"action": "transfer", "target": "queue:x"}'))[
                    "error"] == "not on a call"
                assert (await send("1001", '{"action": "disposition", "code": 7}'))[
                    "error"].startswith("code:")
            refused = [e for e in logs if e["event"] == "command.refused"]
            assert [(e["agent"], e["action"], e["error"]) for e in refused] == [
                ("1001", "transfer", "not on a call")]
            assert [e["agent"] for e in logs if e["event"] == "command.malformed"] == ["1001"]


async def test_an_unwritable_recordings_directory_is_reported_at_start(
        rec: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with capture_logs() as logs:
        await rec(recording=RECORDING.replace("directory: DIR", f"directory: {blocker}/monitor"))
    [event] = [e for e in logs if e["event"] == "recording.directory_unwritable"]
    assert event["directory"] == f"{blocker}/monitor" and event["log_level"] == "error"


CARD = "4111111111111111"  # a test card number (Luhn-valid)


async def test_card_data_is_handed_to_the_payment_step_and_kept_nowhere(
        rec: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    """Every table, every MQTT message, the log and the AMI traffic of a payment call are
    scanned for the card number (or any 8 of its digits in a row but the last four)."""
    from sqlalchemy import select as sql_select
    from structlog.testing import capture_logs

    from core.models import Base, Interaction
    from tests.integration.conftest import Subscriber

    ivr = IVR.replace("    max_digits: 8\n    payment: true\n",
                      "    max_digits: 19\n    payment: true\n    luhn: true\n    confirm: true\n"
                      "    confirm_prompt: vm-enter-num-to-call\n")
    taken: list[tuple[str, str, str]] = []

    async def payment_step(call_id: str, field: str, value: str) -> None:
        taken.append((call_id, field, value))

    with capture_logs() as logs:
        async with Subscriber(mqtt_url, "card/") as sub:
            rig = await rec(ivr=ivr, prefix="card/", payments=payment_step)
            ch = rig.call("3" + CARD + "#" + "1", patience=60)  # pay, confirm, then the queue
            await until(lambda: ch.bridge is not None, 30, "bridged after paying")
            rig.pbx.request_hangup(ch)
            await until(lambda: ch.gone, 5, "hang-up")
            await rig.engine.journal.drain()
            await asyncio.sleep(1.0)  # the outbox reaches the broker
    assert [(f, v) for _c, f, v in taken] == [("card", CARD)]  # handed over, once
    needles = [CARD[i:i + 8] for i in range(len(CARD) - 8 - 3)]  # any 8 digits but the end

    def leaks(text: str) -> list[str]:
        return [n for n in needles if n in text]

    store = Store(rig.db)
    try:
        async with store.session() as s:
            for table in Base.metadata.sorted_tables:
                rows = (await s.execute(sql_select(table))).all()
                assert not leaks(repr(rows)), f"card digits in table {table.name}"
            data = (await s.execute(sql_select(Interaction.data).where(
                Interaction.id == taken[0][0]))).scalar_one()
    finally:
        await store.close()
    assert data["captured"]["card"] == "*" * 12 + "1111"  # what the agent's screen shows
    assert sub.messages, "the call's events reached MQTT"
    assert not leaks(repr(sub.messages)), "card digits on MQTT"
    assert not leaks(repr(logs)), "card digits in the log"
    agi = [str(m.get("Command")) for m in rig.server.received if m.get("Action") == "AGI"]
    assert not leaks(" ".join(agi)), "card digits sent over AMI"
    assert any(c.startswith("SAY DIGITS 1111 ") for c in agi)  # read back: last four only


async def test_a_call_that_ends_while_the_engine_is_down_is_closed_at_the_next_start(
        rec: Callable[..., Awaitable[Rig]], run_engine: Callable[..., Any]) -> None:
    from sqlalchemy import select as sql_select

    from core.models import CallEventRow, Interaction

    rig = await rec({"agent1001": Endpoint(answer_after=0.5, talk_time=None)})
    ch = rig.call(patience=60)
    await until(lambda: bool(rig.recording()), 15, "recording while they talk")
    call_id = rig.engine.registry.call_of(ch.name).call_id  # type: ignore[union-attr]
    rig.engine.stop.set()  # the engine stops (Ctrl-C) with the call up...
    await until(lambda: not rig.engine.publisher.connected and rig.engine.stop.is_set(), 10, "stop")
    await asyncio.sleep(0.5)
    rig.pbx.request_hangup(ch)  # ...and the call ends while it is down
    await until(lambda: ch.gone, 5, "hang-up")
    [row] = await rig.rows()
    assert row.status == "recording"
    out = io.StringIO()
    config = load_recording(Path(rig.directory.parent / "recording.yaml"))
    roles = {"9001": "supervisor"}
    await commands.with_desk(rig.db, config, roles, "9001", out,
                               lambda d: commands.verify(d, Filters()))
    assert f"OPEN     {row.id}" in out.getvalue()  # verify shows it (the call may be up)
    store = Store(rig.db)
    try:
        async with store.session() as s:
            assert (await s.get(Interaction, call_id)).ended_at is None  # type: ignore[union-attr]
    finally:
        await store.close()
    again = Engine(rig.engine.settings)  # the next start
    await run_engine(again)
    await until(lambda: again.resync.count >= 1, 10, "the first resync")
    await again.journal.drain()
    await asyncio.sleep(0.5)
    await again.journal.drain()
    store = Store(rig.db)
    try:
        async with store.session() as s:
            closed = await s.get(Interaction, call_id)
            last = (await s.scalars(sql_select(CallEventRow).where(CallEventRow.call_id == call_id)
                                    .order_by(CallEventRow.seq.desc()))).first()
    finally:
        await store.close()
    assert closed is not None and closed.ended_at is not None
    assert closed.outcome in ("answered", "engine_stopped")  # kept when it had one
    assert last is not None and last.kind == "call.ended" and last.data["outcome"] == "engine_stopped"
    [row] = await rig.rows()
    assert row.status == "complete" and row.size is not None and "restart" in row.note


async def test_a_new_recording_policy_applies_to_the_next_call(
        rec: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rec({"agent1001": Endpoint(answer_after=0.5, talk_time=1.0)})
    first = rig.call(patience=30)
    await until(lambda: first.gone, 20, "a first call, recorded")
    assert len(rig.sent("MixMonitor")) == 1
    path = rig.directory.parent / "recording.yaml"
    path.write_text(path.read_text().replace("default: standard", "default: never"))
    assert rig.engine.reload() is True
    second = rig.call(patience=30, number="+34911000002")
    await until(lambda: second.gone, 20, "a second call")
    assert len(rig.sent("MixMonitor")) == 1  # the new policy: never
