"""Reloading the center while calls wait and talk: every file, all or nothing, applied to
new decisions; a change that needs a restart, or a broken one, changes nothing and says
why; an unchanged file says nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sim.endpoints import Endpoint
from tests.conftest import until
from tests.integration.conftest import AGENTS, Rig


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_file_reloads_while_calls_wait_and_talk(
        acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "agent1002": Endpoint(answer_after=60.0)})
    engine = rig.engine
    talking = rig.call(number="+34911000001")
    await until(lambda: talking.bridge is not None, 10, "a caller talking")
    waiting = rig.call(number="+34911000002")
    await until(lambda: rig.waiting() == 1, 10, "a caller waiting")
    with capture_logs() as logs:
        assert engine.reload() is False  # nothing changed: nothing said
        assert not [e for e in logs if e["event"].startswith("config.")]

        # queues.yaml: a longer wrap-up and a ring timeout, for what comes next
        rewrite(tmp_path / "queues.yaml", "wrapup: 1", "wrapup: 3")
        assert engine.reload() is True
        assert engine.acd is not None and engine.acd.config.queues["support"].wrapup == 3
        assert engine.acd.desk.config.queues["support"].wrapup == 3  # every part sees it
        done = [e for e in logs if e["event"] == "config.reloaded"]
        assert done[-1]["changes"] == ["queues.yaml: queues changed: support"]

        # agents.yaml: 1002 leaves support; the waiting caller is not offered to them again
        rewrite(tmp_path / "agents.yaml", 'extension: "1002", skills: {support: 5},\n     queues: '
                '{support: 0}', 'extension: "1002", skills: {support: 5},\n     queues: {}')
        text = (tmp_path / "agents.yaml").read_text()
        assert engine.reload() is True
        assert engine.directory["1002"].queues == {} and engine.directory["1001"].queues
        rings = len([o for o in rig.originates() if "agent1002" in o])
        await until(lambda: rig.state("1002") == "ready", 10, "1002's last ring to end")
        import asyncio
        await asyncio.sleep(1.0)  # 10 s of the PBX's time: a ring every 2 s before
        assert len([o for o in rig.originates() if "agent1002" in o]) <= rings + 1

        # ivr.yaml: a new greeting for the next caller
        rewrite(tmp_path / "ivr.yaml", "prompts: [hello-world]", "prompts: [vm-enter-num-to-call]")
        assert engine.reload() is True
        assert engine.ivr is not None
        assert engine.ivr.config.nodes["main"].prompts == ["vm-enter-num-to-call"]  # type: ignore[union-attr]

        # broken: an IVR route to a queue that does not exist; nothing changes
        rewrite(tmp_path / "ivr.yaml", "{queue: support, skills", "{queue: suport, skills")
        assert engine.reload() is False
        rejected = [e for e in logs if e["event"] == "config.reload_rejected"]
        assert "unknown queue 'suport'" in rejected[-1]["problems"][0]
        assert engine.ivr.config.nodes["main"].options["1"].queue == "support"  # type: ignore[union-attr]
        rewrite(tmp_path / "ivr.yaml", "{queue: suport, skills", "{queue: support, skills")

        # a new agent: there, logged out until they log in
        (tmp_path / "agents.yaml").write_text(text + '  - {id: "1009", device: PJSIP/agent1009, '
                                              'skills: {support: 5}, queues: {support: 0}}\n')
        assert engine.reload() is True
        assert "1009" in engine.directory and rig.state("1009") == "logged_out"
        assert rig.send("1009", "login") is None
        assert rig.state("1009") in ("ready", "reserved")  # and offered the waiting caller

        # needs a restart: an agent's new phone; nothing changes, and it says so
        rewrite(tmp_path / "agents.yaml", "PJSIP/agent1002", "PJSIP/agent2002")
        assert engine.reload() is False
        last = [e for e in logs if e["event"] == "config.reload_rejected"][-1]
        assert "agent 1002: a new phone" in last.get("reason", ""), last
        assert engine.directory["1002"].device == "PJSIP/agent1002"
    # the calls went on through all of it
    assert talking.bridge is not None and not talking.gone and not waiting.gone
    third = rig.call(number="+34911000003")
    await until(lambda: any("vm-enter-num-to-call" in c for c in rig.agi(third)), 10,
                "the next caller hears the new greeting")


def test_agents_fixture_is_what_the_reload_test_edits() -> None:
    assert AGENTS.count("queues: {support: 0}, login: true, max_no_answer: 2}") == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_supervisor_reloads_from_mqtt_and_an_agent_may_not(
        acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    from tests.integration.test_web import WEB_AGENTS
    rig = await acd({}, agents=WEB_AGENTS)
    assert rig.send("1001", "reload_config") == "only supervisors may reload the configuration"
    assert rig.send("9001", "reload_config") is None  # nothing changed: fine
    rewrite(tmp_path / "queues.yaml", "wrapup: 1", "wrapup: 2")
    assert rig.send("9001", "reload_config") is None
    assert rig.engine.acd is not None and rig.engine.acd.config.queues["support"].wrapup == 2
    rewrite(tmp_path / "queues.yaml", "wrapup: 2", "wrapup: -5")
    refused = rig.send("9001", "reload_config")
    assert refused is not None and "wrapup" in refused


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_bad_bytes_in_a_watched_file_do_not_stop_the_watching(
        acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    rig = await acd({})
    ivr = tmp_path / "ivr.yaml"
    good = ivr.read_bytes()
    with capture_logs() as logs:
        ivr.write_bytes(good + b"\n# caf\xe9\n")  # an editor saved it as Latin-1
        await until(lambda: any(e["event"] == "config.reload_rejected" for e in logs), 10,
                    "the watcher to refuse the file")
        ivr.write_bytes(good.replace(b"prompts: [hello-world]", b"prompts: [vm-goodbye]"))
        await until(lambda: any(e["event"] == "config.reloaded" for e in logs), 10,
                    "the next valid save to be applied")
    refused = next(e for e in logs if e["event"] == "config.reload_rejected")
    assert "is not UTF-8" in refused["problems"][0]
    assert rig.engine.ivr is not None
    assert rig.engine.ivr.config.nodes["main"].prompts == ["vm-goodbye"]  # type: ignore[union-attr]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_business_hours_and_campaigns_reload(
        dialer: Callable[..., Awaitable[Any]], tmp_path: Path) -> None:
    from tests.integration.conftest import ALWAYS, campaign_yaml
    rig = await dialer(campaign_yaml(), {})
    engine = rig.engine
    assert engine.acd is not None and engine.acd.config.hours is None
    queues = tmp_path / "queues.yaml"
    queues.write_text(f"hours: {ALWAYS}\n" + queues.read_text())  # follow-ups need open hours
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text(campaign_yaml(wrapup="7"))
    with capture_logs() as logs:
        assert engine.reload() is True
    [done] = [e for e in logs if e["event"] == "config.reloaded"]
    assert "hours changed" in done["changes"]
    assert "campaigns.yaml: campaigns changed: sales" in done["changes"]
    assert engine.acd.config.hours is not None
    assert rig.dialer.config.campaigns["sales"].wrapup == 7


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_agent_removed_while_talking_finishes_the_call_first(
        acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "agent1002": Endpoint(answer_after=0.5, talk_time=None)})
    ch = rig.call()
    await until(lambda: ch.bridge is not None, 10, "a caller talking")
    talking = next(a for a in ("1001", "1002") if rig.state(a) == "on_call")
    idle = "1002" if talking == "1001" else "1001"
    agents = tmp_path / "agents.yaml"
    lines = agents.read_text().split("\n  - ")
    agents.write_text("\n  - ".join(part for part in lines if f'id: "{talking}"' not in part
                                     and f'id: "{idle}"' not in part) + "\n  - " +
                      next(part for part in lines if f'id: "{idle}"' in part))
    with capture_logs() as logs:
        assert rig.engine.reload() is True
    assert talking in rig.engine.directory and rig.state(talking) == "on_call"  # not cut off
    assert any(e["event"] == "agent.removal_deferred" and e["agent"] == talking for e in logs)
    assert not ch.gone and ch.bridge is not None
    rig.pbx.request_hangup(ch)
    await until(lambda: talking not in rig.engine.directory, 15, "the agent to leave after it")
    assert talking not in rig.engine.pool and idle in rig.engine.directory


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_queues_are_added_and_removed_by_a_reload(
        acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=1.0),
                     "agent1002": Endpoint(answer_after=60.0)}, stats_every=0.2)
    queues, agents = tmp_path / "queues.yaml", tmp_path / "agents.yaml"
    queues.write_text(queues.read_text() + "  sales:\n    ring_timeout: 2\n    wrapup: 1\n")
    rewrite(agents, 'queues: {support: 0}, login: true, max_no_answer: 2}',
            'queues: {support: 0, sales: 0}, login: true, max_no_answer: 2}')
    assert rig.engine.reload() is True
    assert rig.engine.acd is not None and "sales" in rig.engine.acd.config.queues
    # a caller for the new queue (the menu sends them there) is served
    ivr = tmp_path / "ivr.yaml"
    rewrite(ivr, "{queue: support, skills: {support: 2}}", "{queue: sales}")
    assert rig.engine.reload() is True
    ch = rig.call()
    await until(lambda: ch.bridge is not None, 10, "a caller of the new queue answered")
    row_queue = (await rig.interaction(ch)).queue
    assert row_queue == "sales"
    await until(lambda: ch.gone, 10, "the call to end")
    # and the queue taken out again (the menu first, then the queue)
    rewrite(ivr, "{queue: sales}", "{queue: support, skills: {support: 2}}")
    queues.write_text(queues.read_text().replace("  sales:\n    ring_timeout: 2\n    wrapup: 1\n", ""))
    agents.write_text(agents.read_text().replace("{support: 0, sales: 0}", "{support: 0}"))
    assert rig.engine.reload() is True
    assert "sales" not in rig.engine.acd.config.queues
    assert "sales" not in rig.engine.acd.state.router.rules
