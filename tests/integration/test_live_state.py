"""What a wallboard or desktop sees on MQTT can be trusted: the engine says online and
offline (its last will says so when the process dies), snapshots carry their time, and
nothing an engine published retained outlives it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from sim.endpoints import Endpoint
from tests.conftest import ROOT, free_port, until
from tests.integration.conftest import Rig
from tests.integration.test_processes import CLI, wait_port


async def retained(mqtt_url: str, topic: str, wait: float = 0.7) -> dict[str, Any]:
    """The retained messages under `topic` right now (topic -> payload)."""
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    got: dict[str, Any] = {}
    async with aiomqtt.Client(host, int(port)) as c:
        await c.subscribe(topic)
        try:
            async with asyncio.timeout(wait):
                async for m in c.messages:
                    if m.retain and m.payload:
                        got[str(m.topic)] = json.loads(m.payload)  # type: ignore[arg-type]
        except TimeoutError:
            pass
    return got


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_online_snapshots_then_offline_and_nothing_stale(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    prefix = "live1/"
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port)) as c:  # what a crashed run left behind
        await c.publish(f"{prefix}queues/ghost/stats", json.dumps({"queue": "ghost", "waiting": 4}),
                        retain=True)
        await c.publish(f"{prefix}agents/9999/presence", json.dumps({"presence": "busy"}),
                        retain=True)
    before = time.time()
    rig = await acd({"agent1001": Endpoint(answer_after=30.0)}, prefix=prefix, stats_every=0.2)
    await until(lambda: rig.engine.publisher.connected, 10, "the engine on the broker")
    await asyncio.sleep(1.0)
    status = (await retained(mqtt_url, f"{prefix}engine/status"))[f"{prefix}engine/status"]
    assert status["status"] == "online" and status["started_at"] >= before - 1
    assert isinstance(status["at"], float) and status["version"]
    now = await retained(mqtt_url, f"{prefix}#")
    assert f"{prefix}queues/ghost/stats" not in now and f"{prefix}agents/9999/presence" not in now
    stats = now[f"{prefix}queues/support/stats"]
    assert abs(stats["at"] - time.time()) < 30  # a snapshot says when it was taken
    assert f"{prefix}agents/1001/presence" in now
    from app.status import gather, render
    state = await gather(rig.engine.settings, 0.7)  # what `centralita status` shows
    assert state["engine"]["status"] == "online" and state["database"] is True
    assert state["queues"]["support"]["waiting"] == 0 and "1001" in state["agents"]
    import io
    shown = io.StringIO()
    render(state, time.time(), shown)
    assert "engine    online" in shown.getvalue() and "support" in shown.getvalue()
    rig.engine.stop.set()  # a clean stop
    await until(lambda: not rig.engine.publisher.connected, 15, "the engine to leave")
    after = await retained(mqtt_url, f"{prefix}#")
    assert list(after) == [f"{prefix}engine/status"], after  # every snapshot cleared
    assert after[f"{prefix}engine/status"]["status"] == "offline"
    assert after[f"{prefix}engine/status"]["reason"] == "stopped"
    shown = io.StringIO()
    render(await gather(rig.engine.settings, 0.5), time.time(), shown)
    assert "OFFLINE" in shown.getvalue() and "not live" in shown.getvalue()


async def test_a_killed_engine_is_offline_by_its_last_will(tmp_path: Path, mqtt_url: str) -> None:
    port = free_port()
    manager = tmp_path / "manager.conf"
    manager.write_text((ROOT / "asterisk/etc/manager.conf").read_text()
                       .replace("CHANGE-ME", "centralita-secret"))
    sim = subprocess.Popen([*CLI, "sim", "--port", str(port), "--manager", str(manager)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prefix = "live2/"
    try:
        wait_port(port, sim)
        env = {**os.environ, "AMI_URL": f"ami://centralita:centralita-secret@127.0.0.1:{port}",
               "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db", "MQTT_URL": mqtt_url,
               "MQTT_PREFIX": prefix, "HTTP_LISTEN": "127.0.0.1:0"}
        run = subprocess.Popen([*CLI, "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        status: dict[str, Any] = {}
        while time.monotonic() < deadline and status.get("status") != "online":
            status = (await retained(mqtt_url, f"{prefix}engine/status", 0.3)).get(
                f"{prefix}engine/status", {})
        assert status.get("status") == "online"
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        await asyncio.sleep(1.0)
        status = (await retained(mqtt_url, f"{prefix}engine/status"))[f"{prefix}engine/status"]
        assert (status["status"], status["reason"]) == ("offline", "connection lost")
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(10)
