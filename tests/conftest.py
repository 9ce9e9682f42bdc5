from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.dialplan import load_dialplan, load_manager_conf
from sim.pbx import Clock, Pbx
from sim.server import AmiServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CENTRALITA_SHARED", ROOT.parent / "shared"))
TRANSCRIPTS = SHARED / "ami-transcripts"
PROJECT_ETC = ROOT / "asterisk" / "etc"


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for a condition the system under test should reach; fail the test if it doesn't."""
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sim() -> AsyncIterator[tuple[Pbx, AmiServer]]:
    """The simulated PBX on the project's own dialplan, ten times faster than real time."""
    pbx = Pbx(load_dialplan(PROJECT_ETC / "extensions.conf"), clock=Clock(10.0), seed=7)
    # the project's manager.conf, with a secret of the tests' own (it ships CHANGE-ME)
    users = dict.fromkeys(load_manager_conf(PROJECT_ETC / "manager.conf").users,
                          "centralita-secret")
    server = AmiServer(pbx, users)
    await server.start()
    yield pbx, server
    await server.close()
    await pbx.shutdown()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_mosquitto(port: int, extra: str = "") -> subprocess.Popen[bytes]:
    """A real Mosquitto on 127.0.0.1:port, for tests; the caller terminates it. `extra`:
    more configuration (a broker with logins: allow_anonymous false, files, ...)."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")
    conf = Path(tempfile.mkdtemp()) / "mosquitto.conf"
    anonymous = "" if "allow_anonymous" in extra else "allow_anonymous true\n"
    conf.write_text(f"user root\nlistener {port} 127.0.0.1\n{anonymous}persistence false\n{extra}")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("mosquitto did not start")
        time.sleep(0.05)
    return proc


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """A real Mosquitto: MQTT_URL if set, else one started on a free port for this run."""
    if os.environ.get("MQTT_URL"):
        yield os.environ["MQTT_URL"]
        return
    port = free_port()
    proc = start_mosquitto(port)
    yield f"mqtt://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


def database_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("CENTRALITA_SKIP_PG") != "1" and _port_open(5432):
        urls.append("postgresql")
    return urls


@pytest.fixture(params=database_urls())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite in a temp file; PostgreSQL (a fresh database per test) when 127.0.0.1:5432 answers."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'centralita.db'}"
        return
    import asyncio
    import uuid

    import asyncpg

    name = f"centralita_t_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def run_engine() -> AsyncIterator[Callable[..., Any]]:
    """Starts engines (`await run_engine(engine)` returns once AMI is up) and stops every
    one of them when the test ends."""
    import asyncio

    running: list[tuple[Any, asyncio.Task[None]]] = []

    async def start(engine: Any) -> Any:
        task = asyncio.ensure_future(engine.run(install_signals=False))
        running.append((engine, task))
        await engine.ami.wait_ready(10)
        return engine

    yield start
    for engine, task in running:
        engine.stop.set()
        await task


def shipped_ivr() -> Any:
    """config/ivr.yaml as the engine loads it: with the schedules of config/hours.yaml."""
    from core.schedule import HoursFile
    from core.yamlconf import load_model
    from ivr.model import load_ivr

    return load_ivr(ROOT / "config" / "ivr.yaml",
                    load_model(HoursFile, ROOT / "config" / "hours.yaml").schedules)
