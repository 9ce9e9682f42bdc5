"""`centralita demo`: the engine against the simulated PBX with synthetic callers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from core.app import Engine
from core.settings import Settings
from sim.dialplan import load_dialplan, load_manager_conf
from sim.endpoints import Endpoint
from sim.pbx import Clock, Pbx
from sim.server import AmiServer
from sim.traffic import CallerTraffic

ETC = Path(__file__).resolve().parent.parent / "asterisk" / "etc"


def _ivr_clock(settings: Settings) -> Callable[[], datetime] | None:
    if not settings.demo.ivr_clock:
        return None
    origin = datetime.fromisoformat(settings.demo.ivr_clock)
    started = time.monotonic()
    speed = settings.demo.speed
    return lambda: (origin + timedelta(seconds=(time.monotonic() - started) * speed)).astimezone(UTC)


async def run_demo(settings: Settings, *, duration: float | None, out: TextIO = sys.stdout,
                   calls: int | None = None) -> Engine:
    manager = load_manager_conf(ETC / "manager.conf")
    pbx = Pbx(load_dialplan(ETC / "extensions.conf"), clock=Clock(settings.demo.speed))
    server = AmiServer(pbx, manager.users)
    port = await server.start()
    user, secret = next(iter(manager.users.items()))
    recordings = ETC.parent.parent / "var" / "recordings"  # the simulated Asterisk writes here
    pbx.monitor_dir = str(recordings)
    settings = settings.model_copy(update={
        "ami": settings.ami.model_copy(update={"url": f"ami://{user}:{secret}@127.0.0.1:{port}"}),
        "recording": settings.recording.model_copy(update={"directory": str(recordings)})})
    engine = Engine(settings, ivr_clock=_ivr_clock(settings))
    if engine.ivr is not None:
        pbx.prompts.update(engine.ivr.config.prompts)  # the admin's recordings exist here
    if engine.acd is not None:  # the agents' phones: answer after a few rings, talk a while
        for agent in engine.acd.config.agents:
            pbx.endpoints[agent.device.split("/", 1)[1]] = Endpoint(
                answer_after=2.0 + len(agent.id) % 3, talk_time=45.0, random_talk=True)
    traffic = CallerTraffic(pbx, per_minute=settings.demo.callers_per_minute,
                            ivr=engine.ivr is not None)
    out.write(f"centralita demo: simulated PBX on 127.0.0.1:{port}, "
              f"{settings.demo.callers_per_minute:g} callers/min, database "
              f"{settings.database.url}, MQTT {settings.mqtt.url} "
              f"(topics {settings.mqtt.prefix}calls/+/events). Ctrl-C stops.\n")
    out.flush()
    engine_task = asyncio.ensure_future(engine.run(install_signals=False))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, engine.stop.set)
    await engine.ami.wait_ready(30)
    traffic_task = asyncio.ensure_future(traffic.run(limit=calls))
    started = time.monotonic()
    last_events, last_t = 0, started
    try:
        while not engine.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(engine.stop.wait(), settings.demo.status_every)
            now = time.monotonic()
            seen = engine.registry.events_seen
            rate = (seen - last_events) / max(1e-6, now - last_t)
            last_events, last_t = seen, now
            agents = ""
            if engine.acd is not None:
                states = [st.state for st in engine.acd.status.values()]
                agents = (f" | queued {len(engine.acd.waiting):3d} | agents ready "
                          f"{states.count('ready')} talking {states.count('on_call')} "
                          f"ringing {states.count('reserved')} wrap-up {states.count('wrapup')}")
            out.write(
                f"{time.strftime('%H:%M:%S')}  calls in progress {len(engine.registry.calls):3d}"
                f" | arrived {traffic.sent:5d} | AMI events/s {rate:7.1f}"
                f" | rows written {engine.journal.written:6d}"
                f" | MQTT published {engine.publisher.published:6d}"
                f" ({'up' if engine.publisher.connected else 'DOWN, queued in outbox'})"
                f"{agents}\n")
            out.flush()
            if duration is not None and now - started >= duration:
                break
            if calls is not None and traffic.sent >= calls and not engine.registry.calls:
                break
    finally:
        traffic_task.cancel()
        engine.stop.set()
        with contextlib.suppress(BaseException):
            await engine_task
        await server.close()
        await pbx.shutdown()
    return engine
