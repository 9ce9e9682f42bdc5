from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from asterisk.client import AmiClient, AmiUrl
from asterisk.errors import (
    AgiChannelGone,
    AgiError,
    AmiActionError,
    AmiConnectError,
    AmiDisconnected,
    AmiLoginError,
    AmiProtocolError,
    AmiTimeout,
)
from asterisk.events import AmiEvent, AsyncAGIStart
from asterisk.wire import FrameReader, Message, parse_message
from sim.endpoints import caller
from sim.pbx import Pbx
from sim.server import AmiServer
from tests.conftest import free_port

Sim = tuple[Pbx, AmiServer]
USER, SECRET = "centralita", "centralita-secret"


def client_for(server: AmiServer, **kw: object) -> AmiClient:
    return AmiClient(AmiUrl("127.0.0.1", server.port, USER, SECRET), **kw)  # type: ignore[arg-type]


async def connected(server: AmiServer, events: list[AmiEvent] | None = None) -> AmiClient:
    c = client_for(server, on_event=(events.append if events is not None else None))
    await c.connect(ready=True)
    return c


# --- a fake peer for misbehaviour ---------------------------------------------------------

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def fake_peer() -> AsyncIterator[Callable[[Script], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> int:
        server = await asyncio.start_server(script, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for s in servers:
        s.close()


async def read_action(reader: asyncio.StreamReader) -> Message:
    data = await reader.readuntil(b"\r\n\r\n")
    return parse_message(data[:-4])


async def login_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"Asterisk Call Manager/9.0.0\r\n")
    login = await read_action(reader)
    writer.write(f"Response: Success\r\nActionID: {login.action_id}\r\n"
                 "Message: Authentication accepted\r\n\r\n".encode())


# --- login and connection errors ----------------------------------------------------------


async def test_wrong_secret_is_a_login_error_naming_user_and_host(sim: Sim) -> None:
    _, server = sim
    c = AmiClient(AmiUrl("127.0.0.1", server.port, USER, "wrong"))
    with pytest.raises(AmiLoginError, match=r"refused the login.*user='centralita'"):
        await c.connect()
    assert not c.connected


async def test_refused_connection_is_a_connect_error() -> None:
    c = AmiClient(AmiUrl("127.0.0.1", free_port(), USER, SECRET), connect_timeout=1)
    with pytest.raises(AmiConnectError, match="cannot reach Asterisk"):
        await c.connect()


async def test_a_peer_that_is_not_ami_is_refused(fake_peer: Callable[[Script], Awaitable[int]]) -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await asyncio.sleep(1)

    port = await fake_peer(ssh)
    with pytest.raises(AmiProtocolError, match="not an AMI server"):
        await AmiClient(AmiUrl("127.0.0.1", port, USER, SECRET)).connect()


def test_ami_url_is_validated() -> None:
    assert AmiUrl.parse("ami://u:p%40ss@host") == AmiUrl("host", 5038, "u", "p@ss")
    assert "p@ss" not in str(AmiUrl.parse("ami://u:p%40ss@host"))
    for bad in ("http://u:p@h", "ami://h:5038", "ami://u:p@h:notaport"):
        with pytest.raises(ValueError):
            AmiUrl.parse(bad)


# --- actions ------------------------------------------------------------------------------


async def test_list_action_returns_items_and_complete_as_one_result(sim: Sim) -> None:
    pbx, server = sim
    pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100", caller_num="600100",
                      endpoint=caller(patience=60))
    c = await connected(server)
    await asyncio.sleep(0.05)
    result = await c.send_list("CoreShowChannels")
    assert result.response.get("EventList") == "start"
    assert [m.event for m in result.items] == ["CoreShowChannel"]
    assert result.complete.get("ListItems") == "1"
    await c.close()


async def test_error_response_raises_and_leaves_nothing_pending(sim: Sim) -> None:
    _, server = sim
    c = await connected(server)
    with pytest.raises(AmiActionError, match="No such channel"):
        await c.send("Hangup", {"Channel": "PJSIP/nobody-00000001"})
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await c.send("NoSuchAction")
    assert c.in_flight == 0
    assert (await c.send("Ping")).get("Ping") == "Pong"
    await c.close()


async def test_agi_resolves_on_its_own_commandid_and_fails_cleanly_on_hangup(sim: Sim) -> None:
    pbx, server = sim
    events: list[AmiEvent] = []
    c = await connected(server, events)
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                           caller_num="600100", endpoint=caller(((3.0, "7"),), patience=60))
    while not any(isinstance(e, AsyncAGIStart) for e in events):
        await asyncio.sleep(0.01)
    assert (await c.agi(ch.name, "ANSWER")).value == 0
    digit = await c.agi(ch.name, "WAIT FOR DIGIT 10000")
    assert digit.value == ord("7")
    var = await c.agi(ch.name, "GET VARIABLE CALLERID(num)")
    assert var.data == "600100"
    with pytest.raises(AgiError, match="code=510"):
        await c.agi(ch.name, "NO SUCH COMMAND")
    waiting = asyncio.ensure_future(c.agi(ch.name, "WAIT FOR DIGIT 100000"))
    await asyncio.sleep(0.05)
    pbx.request_hangup(ch, 16)
    with pytest.raises(AgiChannelGone):
        await waiting
    with pytest.raises(AgiChannelGone, match="does not exist"):
        await c.agi(ch.name, "ANSWER")
    assert c.in_flight == 0
    await c.close()


async def test_an_action_without_answer_times_out(fake_peer: Callable[[Script], Awaitable[int]]) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await login_ok(reader, writer)
        await asyncio.sleep(5)

    port = await fake_peer(silent)
    c = AmiClient(AmiUrl("127.0.0.1", port, USER, SECRET))
    await c.connect(ready=True)
    with pytest.raises(AmiTimeout, match="no response"):
        await c.send("Ping", timeout=0.2)
    assert c.in_flight == 0
    await c.close()


async def test_bad_bytes_from_the_peer_are_logged_never_fatal(
        fake_peer: Callable[[Script], Awaitable[int]]) -> None:
    async def nasty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await login_ok(reader, writer)
        ping = await read_action(reader)
        writer.write(b"\x00\xff\xfegarbage with no structure\r\n\r\n")
        writer.write(b"Event: Newchannel\r\nChannel: PJSIP/a-1\r\nCallerIDName: Jos\xe9\r\n\r\n")
        writer.write(b"Event: BrandNewEvent\r\nFoo: bar\r\n\r\n")
        writer.write(b"Response: Success\r\nMessage: who asked?\r\n\r\n")  # no ActionID
        writer.write(b"Response: Error\r\nActionID: nobody-1\r\nMessage: stray\r\n\r\n")
        writer.write(b"Event: Huge\r\nX: " + b"a" * (1024 * 1024) + b"\r\n\r\n")
        writer.write(b"Event: Half\r\nChannel: PJ")  # a half message ...
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"SIP/b-2\r\n\r\n")  # ... completed later
        writer.write(f"Response: Success\r\nActionID: {ping.action_id}\r\nPing: Pong\r\n\r\n"
                     .encode())
        await asyncio.sleep(5)

    port = await fake_peer(nasty)
    events: list[AmiEvent] = []
    c = AmiClient(AmiUrl("127.0.0.1", port, USER, SECRET), on_event=events.append)
    with capture_logs() as logs:
        await c.connect(ready=True)
        pong = await c.send("Ping", timeout=5)
    assert pong.get("Ping") == "Pong"
    names = [e.name for e in events]
    assert names == ["Newchannel", "BrandNewEvent", "Half"]
    assert events[0].message.get("CallerIDName") == "Jos\ufffd"
    assert events[2].message.get("Channel") == "PJSIP/b-2"
    kinds = [entry["event"] for entry in logs]
    assert "ami.unparseable_frame" in kinds
    assert "ami.response_without_actionid" in kinds
    assert "ami.unexpected_response" in kinds
    assert c.oversized_frames == 1
    await c.close()


async def test_a_failing_event_handler_is_logged_and_ingest_goes_on(sim: Sim) -> None:
    pbx, server = sim
    seen: list[str] = []

    def handler(ev: AmiEvent) -> None:
        seen.append(ev.name)
        if ev.name == "Newchannel":
            raise RuntimeError("boom")

    c = client_for(server, on_event=handler)
    with capture_logs() as logs:
        await c.connect(ready=True)
        pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100", caller_num="1")
        await asyncio.sleep(0.05)
    assert "Newchannel" in seen and "AsyncAGIStart" in seen
    failed = [e for e in logs if e["event"] == "ami.event_handler_failed"]
    assert failed and failed[0]["channel"].startswith("PJSIP/trunk-")
    await c.close()


# --- reconnect, resync, no blind re-send --------------------------------------------------


async def test_reconnect_resyncs_first_and_never_resends_an_originate(sim: Sim) -> None:
    _pbx, server = sim
    order: list[str] = []

    async def resync(client: AmiClient) -> None:
        order.append("resync")
        await client.send_list_now("CoreShowChannels")

    c = client_for(server, on_ready=resync, backoff_initial=0.05, ping_interval=0.5)
    stop = asyncio.Event()
    runner = asyncio.ensure_future(c.run(stop=stop))
    await c.wait_ready(5)
    # The link drops after Asterisk queued an Originate but before its outcome: the
    # outcome fails as "maybe ran", and the client does not send it again.
    outcome = await c.originate({"Channel": "Local/100@centralita-legs", "Application": "Wait",
                                 "Data": "5", "Timeout": "60000"})
    server.drop_connections()
    with pytest.raises(AmiDisconnected) as info:
        await outcome
    assert info.value.maybe_ran is True
    await asyncio.sleep(0.3)
    await c.wait_ready(5)
    assert order == ["resync", "resync"]
    await c.send("Ping")
    actions = [m.get("Action") for m in server.received]
    assert actions.count("Originate") == 1
    second_login = [i for i, a in enumerate(actions) if a == "Login"][1]
    assert actions[second_login + 1] == "CoreShowChannels"  # resync before anything else
    stop.set()
    await runner
    assert c.connections == 2


async def test_ping_finds_a_dead_link_and_reconnects(fake_peer: Callable[[Script], Awaitable[int]]) -> None:
    sessions = 0

    async def mute_after_login(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sessions
        sessions += 1
        await login_ok(reader, writer)
        await asyncio.sleep(30)  # alive socket, dead peer: never answers Ping

    port = await fake_peer(mute_after_login)
    c = AmiClient(AmiUrl("127.0.0.1", port, USER, SECRET), ping_interval=0.2,
                  action_timeout=0.2, backoff_initial=0.05)
    stop = asyncio.Event()
    with capture_logs() as logs:
        runner = asyncio.ensure_future(c.run(stop=stop))
        for _ in range(100):
            if sessions >= 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await runner
    assert sessions >= 2
    assert any(e["event"] == "ami.ping_failed" for e in logs)


async def test_run_keeps_retrying_with_backoff_when_asterisk_is_away() -> None:
    c = AmiClient(AmiUrl("127.0.0.1", free_port(), USER, SECRET), backoff_initial=0.05,
                  connect_timeout=0.5)
    stop = asyncio.Event()
    with capture_logs() as logs:
        runner = asyncio.ensure_future(c.run(stop=stop))
        await asyncio.sleep(0.5)
        stop.set()
        await runner
    failures = [e for e in logs if e["event"] == "ami.connect_failed"]
    assert len(failures) >= 2
    assert failures[1]["retry_in"] > failures[0]["retry_in"]
    with pytest.raises(AmiDisconnected):
        await c.send("Ping", timeout=0.1)


async def test_sim_answers_frames_split_anywhere(sim: Sim) -> None:
    _, server = sim
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    data = (f"Action: Login\r\nUsername: {USER}\r\nSecret: {SECRET}\r\nActionID: 1\r\n\r\n"
            "Action: Ping\r\nActionID: 2\r\n\r\n").encode()
    for i in range(len(data)):
        writer.write(data[i : i + 1])
    frames = FrameReader()
    got: list[Message] = []
    while len([m for m in got if m.is_response]) < 2:
        got += [parse_message(f) for f in frames.feed(await reader.read(4096))]
    assert [m.response for m in got if m.is_response] == ["Success", "Success"]
    writer.close()
