"""The MQTT contract (core/topics.py, core/payloads.py, core/commands.py): topics built
in one place, every command one typed model, refused and malformed ones answered, and
the whole published as JSON Schema."""

from __future__ import annotations

import json

import pytest

from app.contract import mqtt_contract
from core import commands as c
from core.payloads import PUBLISHED, AgentState, Reply
from core.topics import CommandTopic, Topics

T = Topics("cc/")


def test_topics() -> None:
    assert T.call_events("abc") == "cc/calls/abc/events"
    assert T.agent_state("1001") == "cc/agents/1001/state"
    assert T.queue_stats("sales") == "cc/queues/sales/stats"
    assert T.all_commands("agents") == "cc/agents/+/commands"
    assert T.command_topic("cc/agents/1001/commands") == CommandTopic("agents", "1001")
    assert T.command_topic("cc/queues/sales/commands") == CommandTopic("queues", "sales")
    for other in ("cc/agents/1001/replies", "x/agents/1/commands", "cc/agents//commands",
                  "cc/agents/1/2/commands", "cc/trunks/1/commands"):
        assert T.command_topic(other) is None
    assert T.replies(CommandTopic("agents", "1001")) == "cc/agents/1001/replies"


def test_commands_are_typed_by_action() -> None:
    cmd = c.parse("agents", {"action": "transfer", "target": "queue:sales", "request": "r9"})
    assert isinstance(cmd, c.Transfer) and cmd.keep_priority and cmd.request == "r9"
    assert isinstance(c.parse("queues", {"action": "reprioritise", "call_id": "x",
                                         "priority": 3}), c.Reprioritise)


@pytest.mark.parametrize(("body", "error"), [
    ([1, 2], "(message): a command is a JSON object"),
    ({"action": "dance"}, "action: must be one of"),
    ({"action": "ready", "x": 1}, "x: Extra inputs are not permitted"),
    ({"action": "transfer"}, "target: Field required"),
    ({"action": "disposition", "code": 7}, "code: Input should be a valid string"),
    ({"action": "pause", "reason": "x" * 33}, "reason: String should have at most 32"),
])
def test_malformed_commands_name_the_field(body: object, error: str) -> None:
    with pytest.raises(c.Malformed) as exc:
        c.parse("agents", body)
    assert str(exc.value).startswith(error)


def test_the_table_dispatches_and_answers_every_command() -> None:
    table = c.Commands(call_of=lambda agent: "call-1")
    done: list[tuple[str, str]] = []
    table.register(c.Login, lambda agent, cmd: done.append((agent, cmd.action)) or None)
    table.register(c.Ready, lambda agent, cmd: "already ready")
    with pytest.raises(ValueError):
        table.register(c.Login, lambda agent, cmd: None)
    assert table.run("agents", "1001", {"action": "login", "request": "r1"}) == Reply(
        ok=True, error=None, request="r1", action="login")
    assert done == [("1001", "login")]
    assert table.run("agents", "1001", {"action": "ready"}).error == "already ready"
    missing = table.run("agents", "1001", {"action": "barge", "agent": "1002"})
    assert not missing.ok and "not configured" in str(missing.error)
    assert not table.run("agents", "1001", {"action": "nope"}).ok


def test_a_handler_that_breaks_is_answered_not_fatal() -> None:
    table = c.Commands()

    def broken(agent: str, cmd: c.Command) -> str | None:
        raise RuntimeError("bug")

    table.register(c.Logout, broken)
    assert table.run("agents", "1001", {"action": "logout"}).error == "internal error: RuntimeError"


def test_payloads_are_versioned() -> None:
    msg = json.loads(AgentState(agent="1", state="ready", reason="", call_id=None, at=1.0).encode())
    assert msg["v"] == 1
    for name, model in PUBLISHED.items():  # call events: v2 made `at` epoch seconds
        assert model.model_fields["v"].default == (2 if name == "call_events" else 1)


def test_the_contract_lists_every_topic_payload_and_command() -> None:
    doc = mqtt_contract("centralita/")
    assert set(doc["published"]) == set(PUBLISHED)
    assert doc["published"]["queue_stats"]["topic"] == "centralita/queues/{queue}/stats"
    schema = doc["commands"]["agents"]["schema"]
    actions = set(schema["discriminator"]["mapping"])
    assert len(schema["oneOf"]) == len(actions) and "Transfer" in schema["$defs"]
    assert {"login", "transfer", "disposition", "barge"} <= actions
    assert actions == set(c.actions("agents"))
    json.dumps(doc)  # it is plain JSON
