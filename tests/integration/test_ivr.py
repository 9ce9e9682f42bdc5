"""The IVR end to end: the shipped config/ivr.yaml run by the engine over AsyncAGI on the
simulated PBX, callers pressing keys as people do; outcomes checked in the AGI commands
the PBX received, the rows stored and the events on the bus."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.engine import Engine
from core.events import CallRouted, CallStepped
from core.settings import (
    AmiSettings,
    DatabaseSettings,
    HoursSettings,
    IvrSettings,
    MqttSettings,
    Settings,
)
from core.store import Store
from sim.endpoints import caller
from sim.pbx import Channel, Pbx
from sim.server import AmiServer
from tests.conftest import ROOT, shipped_ivr, until

Sim = tuple[Pbx, AmiServer]
OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Madrid
SUNDAY = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass
class Rig:
    pbx: Pbx
    server: AmiServer
    engine: Engine
    db: str
    routed: list[CallRouted]
    steps: list[CallStepped]

    def call(self, keys: tuple[tuple[float, str], ...] = (), *, number: str = "+34911000000",
             dnis: str = "100", patience: float = 120.0) -> Channel:
        return self.pbx.incoming_call(trunk="trunk", context="centralita-in", dnis=dnis,
                                      caller_num=number,
                                      endpoint=caller(keys, patience=patience, reactive=True))

    def agi(self, ch: Channel) -> list[str]:
        return [m.get("Command") for m in self.server.received
                if m.get("Action") == "AGI" and m.get("Channel") == ch.name]

    async def until(self, cond: Callable[[], bool], what: str, timeout: float = 15) -> None:
        await until(cond, timeout, what)

    async def routed_for(self, ch: Channel) -> CallRouted:
        await self.until(lambda: any(r.channel == ch.name for r in self.routed), "a route")
        return next(r for r in self.routed if r.channel == ch.name)

    async def rows(self, ch: Channel) -> tuple[Any, list[Any]]:
        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            from sqlalchemy import select

            from core.models import Interaction

            async with store.session() as s:
                row = await s.scalar(select(Interaction).where(Interaction.channel == ch.name))
            assert row is not None
            return row, await store.events(row.id)
        finally:
            await store.close()


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig(sim: Sim, tmp_path: Path,
              run_engine: Callable[..., Any]) -> AsyncIterator[RigFactory]:
    pbx, server = sim

    async def make(ivr_file: Path = ROOT / "config" / "ivr.yaml", now: datetime = OPEN,
                   customers: list[dict[str, Any]] | None = None) -> Rig:
        db = f"sqlite+aiosqlite:///{tmp_path}/ivr.db"
        settings = Settings(
            ami=AmiSettings(url=f"ami://centralita:centralita-secret@127.0.0.1:{server.port}"),
            database=DatabaseSettings(url=db), mqtt=MqttSettings(enabled=False),
            ivr=IvrSettings(file=str(ivr_file)),
            hours=HoursSettings(file=str(ROOT / "config" / "hours.yaml")))  # `office`
        started = time.monotonic()
        engine = Engine(settings, calendar=lambda: now.fromtimestamp(
            now.timestamp() + (time.monotonic() - started) * pbx.clock.speed, UTC))
        assert engine.center.ivr is not None
        pbx.prompts.update(engine.center.ivr.prompts)
        routed: list[CallRouted] = []
        engine.bus.subscribe(CallRouted, routed.append)
        steps: list[CallStepped] = []
        engine.bus.subscribe(CallStepped, steps.append)
        await engine.store.migrate()
        for c in customers or []:
            tickets = c.pop("tickets", [])
            cid = await engine.store.add_customer(**c)
            for status in tickets:
                await engine.store.add_ticket(cid, status=status)
        await run_engine(engine)
        return Rig(pbx, server, engine, db, routed, steps)

    yield make


def k(*keys: str, delay: float = 0.6) -> tuple[tuple[float, str], ...]:
    return tuple((delay, key) for key in keys)


async def test_english_support_is_queued_on_music_with_its_skills(rig: RigFactory) -> None:
    r = await rig()
    ch = r.call(((4.5, "1"), (0.6, "2")))  # hears the welcome out, answers the language question
    routed = await r.routed_for(ch)
    assert (routed.kind, routed.target, routed.skills, routed.language) == \
        ("queue", "support", {"support": 3}, "en")
    await r.until(lambda: ch.moh == "default", "music on hold")
    commands = r.agi(ch)
    assert commands[:3] == ["ANSWER", "GET DATA custom/welcome 1 1",
                            "GET DATA custom/language-choice 3000 1"]
    assert "GET DATA custom/main-menu 5000 1" in commands
    assert ch.moh == "default" and not ch.gone  # parked for the ACD
    row, events = await r.rows(ch)
    assert row.data["route"] == {"kind": "queue", "target": "support", "skills": {"support": 3},
                                 "priority": 0}
    kinds = [e.kind for e in events]
    assert kinds[kinds.index("ivr.started"):] == [
        "ivr.started", "ivr.entered", "ivr.schedule", "ivr.entered", "ivr.branch",
        "ivr.entered", "ivr.key", "ivr.entered", "ivr.key", "ivr.route"]


async def test_spanish_sales_sets_the_channel_language(rig: RigFactory) -> None:
    r = await rig()
    ch = r.call(k("2", "3"))
    routed = await r.routed_for(ch)
    assert (routed.target, routed.language) == ("sales", "es")
    assert "SET VARIABLE CHANNEL(language) es" in r.agi(ch)
    assert ch.language == "es"
    row, _ = await r.rows(ch)
    assert row.language == "es"


async def test_account_number_is_captured_read_back_and_travels_with_the_call(
        rig: RigFactory) -> None:
    r = await rig()
    account = tuple((0.2 if i else 0.8, d) for i, d in enumerate("12345674"))
    ch = r.call((*k("1", "1"), *account, (0.5, "1")))
    routed = await r.routed_for(ch)
    assert routed.target == "billing" and routed.data["captured"] == {"account": "12345674"}
    commands = r.agi(ch)
    assert "GET DATA custom/enter-account 8000 1" in commands
    assert commands.count("WAIT FOR DIGIT 3000") == 7  # the other seven digits
    assert 'SAY DIGITS 12345674 "0123456789*#"' in commands
    row, events = await r.rows(ch)
    assert row.data["captured"] == {"account": "12345674"}
    assert "ivr.captured" in [e.kind for e in events]


async def test_a_wrong_check_digit_is_refused_then_a_good_number_accepted(rig: RigFactory) -> None:
    r = await rig()
    bad = tuple((0.2 if i else 0.8, d) for i, d in enumerate("12345670"))
    good = tuple((0.2 if i else 0.8, d) for i, d in enumerate("12345674"))
    ch = r.call((*k("1", "1"), *bad, *good, (0.5, "1")))
    routed = await r.routed_for(ch)
    assert routed.data["captured"] == {"account": "12345674"}
    _, events = await r.rows(ch)
    invalid = [e for e in events if e.kind == "ivr.invalid"]
    assert invalid and invalid[0].data["reason"] == "check digit wrong"
    assert "GET DATA invalid 1 1" in r.agi(ch)  # the invalid prompt, then the question again


async def test_a_silent_caller_times_out_retries_and_reaches_the_operator(rig: RigFactory) -> None:
    r = await rig()
    ch = r.call(())
    routed = await r.routed_for(ch)
    assert (routed.kind, routed.target) == ("queue", "operator")
    _, events = await r.rows(ch)
    kinds = [e.kind for e in events]
    assert kinds.count("ivr.timeout") == 2 + 3  # welcome: 1 retry; main: 2 retries
    assert kinds.count("ivr.retries_exhausted") == 2
    assert "GET DATA please-try-again 1 1" in r.agi(ch)


async def test_a_caller_who_hangs_up_mid_menu_is_recorded_as_abandoned_in_ivr(
        rig: RigFactory) -> None:
    r = await rig()
    ch = r.call(k("1"), patience=3.0)
    await r.until(lambda: ch.gone, "the caller to hang up")
    await r.until(lambda: any(s.kind == "ivr.caller_hung_up" for s in r.steps), "the IVR to let go")
    row, events = await r.rows(ch)
    assert row.outcome == "abandoned_in_ivr" and row.ended_at is not None
    hung = [e for e in events if e.kind == "ivr.caller_hung_up"]
    assert hung and hung[0].data["node"] == "main"


async def test_two_hundred_keys_in_a_burst_leave_no_stuck_call(rig: RigFactory) -> None:
    r = await rig()
    burst = tuple((0.01 if i else 0.5, "9") for i in range(200))
    ch = r.call((*k("1"), *burst, *k("3", delay=1.5)))
    routed = await r.routed_for(ch)
    assert routed.kind == "queue"  # sales, or the operator once retries ran out
    _, events = await r.rows(ch)
    assert "ivr.invalid" in [e.kind for e in events]


async def test_out_of_hours_callers_can_leave_a_voicemail(rig: RigFactory) -> None:
    r = await rig(now=SUNDAY)
    ch = r.call(k("1"))  # barges in on the closed-hours message
    routed = await r.routed_for(ch)
    assert (routed.kind, routed.target) == ("voicemail", "100@default")
    await r.until(lambda: ch.gone, "voicemail then hang-up")
    commands = r.agi(ch)
    assert "EXEC VoiceMail 100@default,u" in commands and commands[-1] == "HANGUP"


async def test_a_vip_goes_straight_to_priority_support_with_the_customer_record(
        rig: RigFactory) -> None:
    r = await rig(customers=[{"number": "+34911000999", "name": "Ana VIP", "account": "12345674",
                              "tags": ["vip"], "tickets": ["open"]}])
    ch = r.call((), number="+34911000999")
    routed = await r.routed_for(ch)
    assert (routed.target, routed.priority, routed.skills) == ("support", 50, {"vip": 1})
    customer = routed.data["customer"]
    assert customer["name"] == "Ana VIP" and customer["vip"] and customer["open_ticket"]
    assert "GET DATA custom/welcome 1 1" not in r.agi(ch)


async def test_a_missing_prompt_is_logged_and_the_call_takes_the_failure_branch(
        rig: RigFactory, tmp_path: Path) -> None:
    ivr = tmp_path / "ivr.yaml"
    ivr.write_text("""\
prompts: {custom/never-recorded: 2.0}
default_menu: main
nodes:
  main:
    type: menu
    prompts: [custom/never-recorded]
    options: {"1": {queue: sales}}
    fallback: {message: [goodbye]}
""")
    r = await rig(ivr_file=ivr)
    del r.pbx.prompts["custom/never-recorded"]  # declared, but not on this Asterisk
    ch = r.call(k("1"))
    routed = await r.routed_for(ch)
    assert routed.kind == "message"
    await r.until(lambda: ch.gone, "goodbye and hang-up")
    assert r.agi(ch)[-3:] == ["EXEC Playback goodbye", "GET VARIABLE PLAYBACKSTATUS", "HANGUP"]
    _, events = await r.rows(ch)
    failed = [e for e in events if e.kind == "ivr.prompt_failed"]
    assert failed[0].data == {"node": "main", "prompt": "custom/never-recorded"}


async def test_reload_applies_a_valid_ivr_and_keeps_the_old_one_on_error(
        rig: RigFactory, tmp_path: Path) -> None:
    ivr = tmp_path / "ivr.yaml"
    shutil.copy(ROOT / "config" / "ivr.yaml", ivr)
    r = await rig(ivr_file=ivr)
    ivr.write_text(ivr.read_text().replace("open: known-caller", "open: nowhere"))
    with capture_logs() as logs:
        r.engine.reload()
    rejected = [e for e in logs if e["event"] == "config.reload_rejected"]  # the whole center
    assert rejected and "unknown node 'nowhere'" in rejected[0]["problems"][0]
    kept = r.call(k("1", "3"))
    assert (await r.routed_for(kept)).target == "sales"  # the running menus were kept
    fixed = ivr.read_text().replace("open: nowhere", "open: known-caller")
    ivr.write_text(fixed.replace('"3": {queue: sales, skills: {sales: 1}}', '"3": {queue: marketing}'))
    with capture_logs() as logs:
        r.engine.reload()
    assert [e["event"] for e in logs if e["event"].startswith("config.reload")] == ["config.reloaded"]
    ch = r.call(k("1", "3"), number="+34911000009")
    routed = await r.routed_for(ch)
    assert routed.target == "marketing"  # new calls get the new menus


def test_run_refuses_to_start_with_a_broken_ivr(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    (tmp_path / "engine.yaml").write_text("ivr:\n  file: ivr.yaml\n")
    (tmp_path / "ivr.yaml").write_text("default_menu: nope\nnodes: {}\n")
    assert main(["--config", str(tmp_path), "run"]) == 1
    assert f"{tmp_path / 'ivr.yaml'}:2: nodes: Dictionary should have at least 1 item" in \
        capsys.readouterr().err
    assert shipped_ivr()  # and the shipped one is fine


async def test_a_ticket_number_is_checked_in_the_store_and_read_back_as_a_number(
        rig: RigFactory, tmp_path: Path) -> None:
    ivr = tmp_path / "ivr.yaml"
    ivr.write_text("""\
default_menu: ticket
nodes:
  ticket:
    type: capture
    prompt: vm-enter-num-to-call
    field: ticket
    min_digits: 4
    max_digits: 6
    lookup: customer_account
    confirm: true
    readback: number
    retries: 1
    next: {queue: support}
    fallback: {queue: operator}
""")
    r = await rig(ivr_file=ivr, customers=[{"number": "+34911000111", "account": "4321"}])
    unknown = tuple((0.2 if i else 0.5, d) for i, d in enumerate("9999#"))
    known = tuple((0.2 if i else 0.5, d) for i, d in enumerate("4321#"))
    ch = r.call((*unknown, *known, (0.5, "1")))
    routed = await r.routed_for(ch)
    assert (routed.target, routed.data["captured"]) == ("support", {"ticket": "4321"})
    assert 'SAY NUMBER 4321 "0123456789*#"' in r.agi(ch)
    _, events = await r.rows(ch)
    assert [e.data["field"] for e in events if e.kind == "ivr.not_found"] == ["ticket"]


async def test_out_of_hours_callers_can_ask_to_be_called_back(rig: RigFactory) -> None:
    r = await rig(now=SUNDAY)
    ch = r.call(k("2"), number="+34911000555")
    routed = await r.routed_for(ch)
    assert routed.kind == "callback"
    await r.until(lambda: ch.gone, "thanks and hang-up")
    assert r.agi(ch)[-2:] == ["EXEC Playback queue-thankyou", "HANGUP"]
    row, _ = await r.rows(ch)
    assert row.outcome == "callback" and row.data["callback"]["number"] == "+34911000555"
