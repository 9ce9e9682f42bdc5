"""The engine's web side on the simulated PBX: logins and roles, the live stream the
wallboard reads, a client that never reads, /metrics, /healthz, /readyz, and the
queue_log file."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl
from prometheus_client.parser import text_string_to_metric_families

from core.settings import HttpSettings, ReportSettings
from sim.endpoints import Endpoint
from tests.conftest import until
from tests.integration.conftest import AGENTS, Rig
from web.auth import hash_secret
from web.logins import store_secret

#: the ACD's two agents, a supervisor and a QA evaluator
WEB_AGENTS = AGENTS + """\
  - {id: "9001", name: Sara Lind, device: PJSIP/super9001, extension: "9001", role: supervisor}
  - {id: "8001", name: Quinn Ortega, device: PJSIP/qa8001, extension: "8001", role: qa}
"""
SECRET = "correct horse battery"


async def web_rig(acd: Callable[..., Awaitable[Rig]], phones: dict[str, Endpoint],
                  **sections: Any) -> Rig:
    rig = await acd(phones, agents=WEB_AGENTS, stats_every=0.2,
                    http=HttpSettings(listen="127.0.0.1:0"), **sections)
    await until(lambda: rig.engine.web is not None and bool(rig.engine.web.url), 5, "web up")
    for user in ("9001", "8001", "1001"):
        await store_secret(rig.engine.store, user, hash_secret(SECRET))
    return rig


def url(rig: Rig, path: str) -> str:
    assert rig.engine.web is not None
    return rig.engine.web.url.rstrip("/") + path


@pytest.fixture
async def http() -> AsyncIterator[Callable[[], aiohttp.ClientSession]]:
    sessions: list[aiohttp.ClientSession] = []

    def make() -> aiohttp.ClientSession:
        s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        await s.close()


async def login(s: aiohttp.ClientSession, rig: Rig, user: str, secret: str = SECRET) -> aiohttp.ClientResponse:
    return await s.post(url(rig, "/login"), data={"user": user, "password": secret},
                        allow_redirects=False)


async def test_pages_need_a_login_of_the_right_role(
        acd: Callable[..., Awaitable[Rig]], http: Callable[[], aiohttp.ClientSession]) -> None:
    rig = await web_rig(acd, {})
    s = http()
    r = await s.get(url(rig, "/wallboard"), allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login?next=/wallboard"
    r = await s.get(url(rig, "/api/live"))
    assert r.status == 401 and (await r.json())["error"] == "login required"
    s.cookie_jar.update_cookies({"centralita_session": "forged-token"})
    assert (await s.get(url(rig, "/api/reports/queues"))).status == 401
    r = await login(s, rig, "9001", "wrong password!")
    assert r.status == 401 and "Unknown user or wrong password" in await r.text()
    r = await login(s, rig, "1001")  # an agent, even with a password: no web pages
    assert r.status == 401
    qa = http()
    r = await login(qa, rig, "8001")
    assert r.status == 303 and r.headers["Location"] == "/reports"
    assert (await qa.get(url(rig, "/reports"))).status == 200
    r = await qa.get(url(rig, "/wallboard"), allow_redirects=False)
    assert r.status == 403 and "not open to the qa role" in await r.text()
    assert (await qa.get(url(rig, "/api/live"))).status == 403
    r = await qa.get(url(rig, "/api/reports/intervals?minutes=15"))
    assert r.status == 200 and (await r.json())["reports"][0]["name"] == "intervals_15"
    r = await qa.get(url(rig, "/api/reports/queues?from=2026-11-21&to=2026-11-20"))
    assert r.status == 400 and "reversed" in (await r.json())["error"]
    r = await qa.get(url(rig, "/api/reports/queues?queue=suport"))
    assert r.status == 400 and "unknown queue 'suport'" in (await r.json())["error"]
    sup = http()
    r = await login(sup, rig, "9001")
    assert r.status == 303 and r.headers["Location"] == "/wallboard"
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
    page = await sup.get(url(rig, "/wallboard"))
    assert page.status == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    me = await (await sup.get(url(rig, "/api/me"))).json()
    assert (me["user"], me["role"], me["name"]) == ("9001", "supervisor", "Sara Lind")
    # nine hours later the session has expired
    assert rig.engine.web is not None
    rig.engine.web.clock = lambda: time.time() + 9 * 3600
    r = await sup.get(url(rig, "/api/me"))
    assert r.status == 401 and "expired" in (await r.json())["error"]
    rig.engine.web.clock = time.time
    await login(sup, rig, "9001")
    assert (await sup.post(url(rig, "/logout"), allow_redirects=False)).status == 303
    assert (await sup.get(url(rig, "/api/me"))).status == 401


async def test_guessing_a_password_is_stopped_after_five_tries(
        acd: Callable[..., Awaitable[Rig]], http: Callable[[], aiohttp.ClientSession]) -> None:
    rig = await web_rig(acd, {})
    s = http()
    for _ in range(5):
        assert (await login(s, rig, "9001", "guess guess")).status == 401
    r = await login(s, rig, "9001")  # even the right one, for a while
    assert r.status == 401 and "Too many failed attempts" in await r.text()


async def read_events(response: aiohttp.ClientResponse, into: list[tuple[str, dict[str, Any]]]) -> None:
    kind = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind:
            into.append((kind, json.loads(line[6:])))


async def test_the_live_stream_follows_callers_and_agents(
        acd: Callable[..., Awaitable[Rig]], http: Callable[[], aiohttp.ClientSession]) -> None:
    rig = await web_rig(acd, {"agent1001": Endpoint(answer_after=30.0),
                              "agent1002": Endpoint(answer_after=30.0)})
    s = http()
    await login(s, rig, "9001")
    stream = await s.get(url(rig, "/api/live"))
    assert stream.headers["Content-Type"] == "text/event-stream"
    events: list[tuple[str, dict[str, Any]]] = []
    reader = asyncio.ensure_future(read_events(stream, events))
    try:
        ch = rig.call(patience=3.0)
        await until(lambda: any(k == "queue" and d["waiting"] == 1 for k, d in events), 10,
                    "the wallboard to show a caller waiting")
        await until(lambda: any(k == "agent" and d["state"] == "reserved" for k, d in events), 10,
                    "an agent ringing")
        await until(lambda: ch.gone, 10, "the caller to give up")
        await until(lambda: [d for k, d in events if k == "queue"][-1]["waiting"] == 0, 10,
                    "the wallboard to show nobody waiting")
        last = [d for k, d in events if k == "queue"][-1]
        assert last["today"]["abandoned"] == 1 and last["queue"] == "support"
        agent = next(d for k, d in events if k == "agent" and d["state"] == "reserved")
        assert agent["call_id"] and agent["name"] == ""  # AGENTS have no names
    finally:
        reader.cancel()


async def test_a_page_that_never_reads_is_dropped_and_the_engine_never_waits(
        acd: Callable[..., Awaitable[Rig]], http: Callable[[], aiohttp.ClientSession]) -> None:
    rig = await web_rig(acd, {})
    s = http()
    await login(s, rig, "9001")
    token = s.cookie_jar.filter_cookies(yarl.URL(url(rig, "/")))["centralita_session"].value
    assert rig.engine.web is not None and rig.engine.feed is not None
    host, port = rig.engine.web.url.removeprefix("http://").rstrip("/").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and it never reads
    sock.sendall(f"GET /api/live HTTP/1.1\r\nHost: x\r\nCookie: centralita_session={token}\r\n\r\n"
                 .encode())
    feed = rig.engine.feed
    rig.engine.web.write_timeout = 0.5
    await until(lambda: len(feed.clients) == 1, 5, "the stream to open")
    stats = json.dumps({"queue": "support", "waiting": 0, "padding": "x" * 65536})
    topic = rig.engine.topics.queue_stats("support")  # type: ignore[union-attr]
    client = next(iter(feed.clients))
    most = sent = 0
    deadline = time.monotonic() + 30
    while feed.clients and time.monotonic() < deadline:
        feed.published(topic, stats)  # returns at once, whatever the page does
        most = max(most, len(client.pending))
        sent += 1
        await asyncio.sleep(0.001)  # the stream's task writes what the socket takes
    assert not feed.clients and feed.dropped == 1, (sent, feed.dropped)
    assert most <= 1  # one queue on the board: one snapshot waiting at most, however slow
    sock.close()


async def test_metrics_health_and_readiness(
        acd: Callable[..., Awaitable[Rig]], http: Callable[[], aiohttp.ClientSession]) -> None:
    rig = await web_rig(acd, {"agent1001": Endpoint(answer_after=0.5, talk_time=1.0),
                              "agent1002": Endpoint(answer_after=0.5, talk_time=1.0)})
    ch = rig.call()
    await until(lambda: ch.bridge is not None, 10, "the caller to reach an agent")
    s = http()
    assert (await (await s.get(url(rig, "/healthz"))).json())["status"] == "alive"
    r = await s.get(url(rig, "/readyz"))
    assert r.status == 200 and await r.json() == {"status": "ready", "ami": True, "database": True}
    await until(lambda: bool(rig.engine.feed and rig.engine.feed.queues), 5, "queue stats")
    text = await (await s.get(url(rig, "/metrics"))).text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    calls = families["centralita_calls"]
    assert calls.type == "counter"
    assert [(x.labels, x.value) for x in calls.samples if x.name == "centralita_calls_total"] == \
        [({"queue": "support", "outcome": "answered"}, 1.0)]
    wait = families["centralita_queue_wait_seconds"]
    assert wait.type == "histogram"
    bounds = {x.labels["le"] for x in wait.samples if x.name.endswith("_bucket")}
    assert "20.0" in bounds and "+Inf" in bounds  # the queue's sl_seconds is a boundary
    for name in ("centralita_queue_callers_waiting", "centralita_queue_agents",
                 "centralita_ami_connected", "centralita_mqtt_outbox_backlog",
                 "centralita_db_write_seconds", "centralita_ami_events_received",
                 "centralita_wallboard_clients"):
        assert name in families, name
    assert families["centralita_ami_connected"].samples[0].value == 1.0
    assert families["centralita_ami_events_received"].samples[0].value > 0
    states = {x.labels["state"] for x in families["centralita_queue_agents"].samples}
    assert states and states <= {"ready", "reserved", "on_call", "wrapup", "paused", "logged_out"}


async def test_queue_log_in_asterisks_format(acd: Callable[..., Awaitable[Rig]], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=1.0),
                     "agent1002": Endpoint(answer_after=0.5, talk_time=1.0)},
                    reports=ReportSettings(queue_log=str(log)))
    ch = rig.call()
    await until(lambda: ch.gone, 15, "the call to end")
    await until(lambda: "COMPLETE" in log.read_text(), 5, "the call's last line")
    lines = [line.split("|") for line in log.read_text().splitlines()]
    events = [f[4] for f in lines]
    assert events.count("AGENTLOGIN") == 2 and lines[0][2:4] == ["NONE", "Agent/1001"]
    call_id = next(f[1] for f in lines if f[4] == "ENTERQUEUE")
    mine = [f for f in lines if f[1] == call_id]
    assert [f[4] for f in mine] == ["ENTERQUEUE", "CONNECT", mine[-1][4]]
    assert mine[-1][4] in ("COMPLETECALLER", "COMPLETEAGENT")
    enter, connect, complete = mine
    assert enter[2] == "support" and enter[3] == "NONE" and enter[5:] == ["", "+34911000000"]
    assert connect[3].startswith("Agent/") and len(connect) == 8  # holdtime|bridged|ringtime
    assert int(connect[5]) >= 0 and connect[6] == call_id
    assert len(complete) == 8 and int(complete[6]) >= 0 and complete[7] == "1"  # origposition
    assert all(f[0].isdigit() and abs(int(f[0]) - time.time()) < 60 for f in lines)
