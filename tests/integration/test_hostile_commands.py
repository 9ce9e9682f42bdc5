"""Hostile messages on the commands topics, through a real broker: every one gets an
answer, none stops the listener, replies stay small, and one sender's flood leaves a
few log lines, not thousands."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import aiomqtt
import pytest
from structlog.testing import capture_logs

from sim.endpoints import Endpoint
from tests.conftest import until
from tests.integration.conftest import Rig, Subscriber

HOSTILE: list[tuple[str, bytes]] = [
    ("200 KB of nested arrays (RecursionError)", b"[" * 100_000 + b"]" * 100_000),
    ("a 4,301-digit integer (ValueError)", b'{"action": "pause", "reason": ' + b"9" * 4301 + b"}"),
    ("10 MB", b'{"action": "pause", "reason": "' + b"x" * 10_000_000 + b'"}'),
    ("nested objects within the size limit", b'{"a":' * 1000 + b"1" + b"}" * 1000),
    ("wide", json.dumps({f"k{i}": i for i in range(500)}).encode()),
    ("not UTF-8", b"\xff\xfe\xfa"),
    ("UTF-16", '{"action": "ready"}'.encode("utf-16")),
    ("empty", b""),
    ("null", b"null"),
    ("a list", b"[1, 2, 3]"),
    ("a string", b'"ready"'),
    ("action not a string", b'{"action": 5}'),
    ("unknown action", b'{"action": "format_disk"}'),
    ("NaN", b'{"action": "pause", "reason": NaN}'),
    ("a huge float", b'{"action": "pause", "reason": 1e999999}'),
    ("a deep field", b'{"action": "transfer", "target": [[[[[["x"]]]]]]}'),
    ("control characters", b'{"action": "pause", "reason": "\\u0000\\u001b[2J"}'),
    ("a long request id", b'{"action": "ready", "request": "' + b"r" * 10_000 + b'"}'),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no rows involved
async def test_every_hostile_message_is_answered_and_the_listener_lives(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=1.0)}, prefix="hostile/")
    assert rig.engine.listener is not None
    await until(lambda: rig.engine.listener.subscribed, 10, "the listener")  # type: ignore[union-attr]
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    with capture_logs() as logs:
        async with Subscriber(mqtt_url, "hostile/", topic="agents/1001/replies") as replies, \
                aiomqtt.Client(host, int(port)) as c:
            for _what, body in HOSTILE:
                await c.publish("hostile/agents/1001/commands", body, qos=1)
            await until(lambda: len(replies.messages) >= len(HOSTILE), 30,
                        "an answer to every hostile message")
            # and the listener still does its job
            await c.publish("hostile/agents/1001/commands",
                            json.dumps({"action": "pause", "reason": "break",
                                        "request": "after"}), qos=1)
            await until(lambda: any(b.get("request") == "after" for _t, b in replies.messages),
                        10, "a normal command answered after all that")
    answers = [b for _t, b in replies.messages]
    assert all(a["ok"] is False for a in answers[:len(HOSTILE)]), answers
    assert answers[-1]["ok"] is True and rig.state("1001") == "paused"
    assert max(len(json.dumps(a)) for a in answers) < 1000  # no echo of a 10 MB request
    errors = " | ".join(str(a["error"]) for a in answers)
    for said in ("too large", "nested too deeply", "not JSON", "too many fields"):
        assert said in errors, said
    refusals = [e for e in logs if e["event"] in ("command.malformed", "command.refused")]
    assert len(refusals) <= 10  # one sender's flood: a few lines, then held back
    assert not [e for e in logs if e.get("log_level") == "error"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_flood_of_refused_commands_is_rate_limited_in_the_log(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    rig = await acd({}, prefix="flood/")
    await until(lambda: rig.engine.listener.subscribed, 10, "the listener")  # type: ignore[union-attr]
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    with capture_logs() as logs:
        async with Subscriber(mqtt_url, "flood/", topic="agents/1002/replies") as replies, \
                aiomqtt.Client(host, int(port)) as c:
            for _ in range(300):
                await c.publish("flood/agents/1002/commands", b'{"action": "end_wrapup"}', qos=0)
            await until(lambda: len(replies.messages) >= 300, 60, "every refusal answered")
    lines = [e for e in logs if e["event"] == "command.refused"]
    assert 1 <= len(lines) <= 10, len(lines)


