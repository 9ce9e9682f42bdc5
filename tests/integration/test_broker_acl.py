"""The engine on a broker that requires logins, with the ACL `centralita mqtt-acl`
writes: each attack from the security review, tried for real against Mosquitto."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from core.brokeracl import BrokerUser, acl, password_line
from core.settings import MqttSettings
from sim.endpoints import Endpoint
from tests.conftest import free_port, start_mosquitto, until
from tests.integration.conftest import Rig, Subscriber
from tests.integration.test_web import WEB_AGENTS

PREFIX = "cc/"
PASSWORDS = {"centralita-engine": "engine-pass-123", "1001": "pass-1001-abc",
             "1002": "pass-1002-abc", "9001": "pass-9001-abc", "8001": "pass-8001-abc"}
USERS = [BrokerUser("centralita-engine", "engine"), BrokerUser("1001", "agent"),
         BrokerUser("1002", "agent"), BrokerUser("9001", "supervisor"), BrokerUser("8001", "qa")]


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    (tmp_path / "passwd").write_text("".join(password_line(u.name, PASSWORDS[u.name]) + "\n"
                                             for u in USERS))
    (tmp_path / "acl").write_text(acl(USERS, PREFIX))
    (tmp_path / "engine.password").write_text(PASSWORDS["centralita-engine"] + "\n")
    port = free_port()
    proc = start_mosquitto(port, f"allow_anonymous false\npassword_file {tmp_path / 'passwd'}\n"
                                 f"acl_file {tmp_path / 'acl'}\n")
    yield f"mqtt://127.0.0.1:{port}", tmp_path
    proc.terminate()
    proc.wait(5)


@pytest.fixture
async def secured(acd: Callable[..., Awaitable[Rig]], broker: Any) -> AsyncIterator[tuple[Rig, str]]:
    url, files = broker
    mqtt = MqttSettings(url=url, prefix=PREFIX, username="centralita-engine",
                        password_file=str(files / "engine.password"))
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=2.0),
                     "agent1002": Endpoint(answer_after=0.5, talk_time=2.0)},
                    agents=WEB_AGENTS, mqtt=mqtt)
    assert rig.engine.listener is not None
    await until(lambda: rig.engine.listener.subscribed, 10, "the engine's commands client")  # type: ignore[union-attr]
    yield rig, url


async def publish(url: str, user: str, topic: str, body: Any, *, retain: bool = False) -> None:
    host, port = url.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port), username=user, password=PASSWORDS[user]) as c:
        await c.publish(f"{PREFIX}{topic}", json.dumps(body), qos=1, retain=retain)


async def test_anonymous_and_wrong_passwords_get_nothing(secured: tuple[Rig, str]) -> None:
    _rig, url = secured
    host, port = url.removeprefix("mqtt://").split(":")
    for kwargs in ({}, {"username": "1001", "password": "guess"}):
        with pytest.raises(aiomqtt.MqttError, match="Not authorized"):
            async with aiomqtt.Client(host, int(port), **kwargs):
                pass


async def test_an_agent_commands_only_themselves(secured: tuple[Rig, str]) -> None:
    rig, url = secured
    async with Subscriber(url, PREFIX, user="1001", password=PASSWORDS["1001"],
                          topic="agents/1001/replies") as mine:
        await publish(url, "1001", "agents/1002/commands", {"action": "logout"})
        await publish(url, "1001", "agents/1002/commands", {"action": "pause", "reason": "break"})
        await publish(url, "1001", "agents/1001/commands", {"action": "pause", "reason": "break",
                                                             "request": "r1"})
        await until(lambda: bool(mine.messages), 10, "the reply to 1001's own command")
    assert mine.messages[0][1]["ok"] is True and mine.messages[0][1]["request"] == "r1"
    assert rig.state("1001") == "paused"
    assert rig.state("1002") == "ready"  # the broker dropped 1001's commands for 1002


async def test_only_a_supervisor_listens_and_only_the_engine_publishes_stats(
        secured: tuple[Rig, str]) -> None:
    rig, url = secured
    async with Subscriber(url, PREFIX, user="1001", password=PASSWORDS["1001"]) as agent, \
            Subscriber(url, PREFIX, user="9001", password=PASSWORDS["9001"]) as supervisor:
        ch = rig.call()
        await until(lambda: ch.gone, 15, "the call to end")
        await until(lambda: any("/calls/" in t for t, _ in supervisor.messages), 10,
                    "the supervisor to see call events")
        await publish(url, "1001", "agents/1001/commands", {"action": "listen", "agent": "1002"})
        await until(lambda: any(t.endswith("1001/replies") for t, _ in agent.messages), 10,
                    "the refusal")
        # forged retained stats, from an agent
        await publish(url, "1001", "queues/support/stats", {"queue": "support", "waiting": 99,
                                                            "forged": True}, retain=True)
        await asyncio.sleep(0.5)
    assert not [t for t, _ in agent.messages if "/calls/" in t]  # no call events for agents
    assert not [t for t, _ in agent.messages if t.startswith(f"{PREFIX}agents/1002/")
                and not t.endswith("/presence")]
    reply = next(b for t, b in agent.messages if t.endswith("1001/replies"))
    assert reply["ok"] is False  # (who may listen is the recorder's rule: test_recording.py)
    assert not [m for m in rig.server.received if "ChanSpy" in str(m.get("Application"))]
    async with Subscriber(url, PREFIX, user="9001", password=PASSWORDS["9001"],
                          topic="queues/support/stats") as fresh:
        await until(lambda: bool(fresh.messages), 10, "the retained stats")
    assert all("forged" not in body for _t, body in fresh.messages)


async def test_a_client_reusing_the_engines_id_cannot_knock_it_off(secured: tuple[Rig, str]) -> None:
    rig, url = secured
    host, port = url.removeprefix("mqtt://").split(":")
    for ident in ("centralita", "centralita-commands", "centralita-outbox"):
        async with aiomqtt.Client(host, int(port), identifier=ident, username="1002",
                                  password=PASSWORDS["1002"]):
            await asyncio.sleep(0.1)
    async with Subscriber(url, PREFIX, user="1001", password=PASSWORDS["1001"],
                          topic="agents/1001/replies") as mine:
        await publish(url, "1001", "agents/1001/commands", {"action": "ready"})
        await until(lambda: bool(mine.messages), 10, "a reply: the engine is still there")
    assert rig.engine.publisher.connected


def test_the_broker_password_is_never_shown() -> None:
    s = MqttSettings(url="mqtts://engine:s3cret-pw@broker.example:8883")
    assert s.safe_url == "mqtts://engine:***@broker.example:8883"
    assert (s.user, s.secret(), s.port, s.tls) == ("engine", "s3cret-pw", 8883, True)
    assert "s3cret" not in repr(s.model_dump(exclude={"url"}))


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a broker certificate for 127.0.0.1 (openssl)."""
    import subprocess
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.crt", "b.key", "b.csr", "b.crt"))
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=centralita test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca, cert, key


async def test_the_engine_speaks_mqtts_with_a_login(
        acd: Callable[..., Awaitable[Rig]], broker: Any, tmp_path: Path) -> None:
    _url, files = broker
    ca, cert, key = make_certs(tmp_path)
    port = free_port()
    proc = start_mosquitto(port, f"certfile {cert}\nkeyfile {key}\nallow_anonymous false\n"
                                 f"password_file {files / 'passwd'}\nacl_file {files / 'acl'}\n")
    try:
        mqtt = MqttSettings(url=f"mqtts://127.0.0.1:{port}", prefix=PREFIX,
                            username="centralita-engine",
                            password_file=str(files / "engine.password"), ca_file=str(ca))
        rig = await acd({}, agents=WEB_AGENTS, mqtt=mqtt)
        assert rig.engine.listener is not None
        await until(lambda: rig.engine.listener.subscribed, 10, "subscribed over TLS")  # type: ignore[union-attr]
        await until(lambda: rig.engine.publisher.connected, 10, "publishing over TLS")
        import ssl
        context = ssl.create_default_context(cafile=str(ca))
        async with aiomqtt.Client("127.0.0.1", port, username="1001", password=PASSWORDS["1001"],
                                  tls_context=context) as c:
            await c.subscribe(f"{PREFIX}agents/1001/replies")
            await c.publish(f"{PREFIX}agents/1001/commands", json.dumps({"action": "ready"}))
            async with asyncio.timeout(10):
                async for message in c.messages:
                    assert json.loads(message.payload)["action"] == "ready"  # type: ignore[arg-type]
                    break
    finally:
        proc.terminate()
        proc.wait(5)
