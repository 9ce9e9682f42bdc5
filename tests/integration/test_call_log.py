"""The log follows a call: every call event that goes to SQL and MQTT is a log line too,
under the same name, with the call's id; LOG_LEVEL=debug adds the AMI actions (secrets
masked)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from core.models import CallEventRow
from core.settings import LogSettings
from core.store import Store
from sim.endpoints import Endpoint
from tests.conftest import until
from tests.integration.conftest import Rig


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_one_call_read_from_the_log_end_to_end(acd: Callable[..., Awaitable[Rig]]) -> None:
    with capture_logs() as logs:
        rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=1.0),
                         "agent1002": Endpoint(answer_after=0.5, talk_time=1.0)},
                        log=LogSettings(level="debug"))
        ch = rig.call()
        await until(lambda: ch.gone, 15, "the call to end")
        await rig.engine.journal.drain()
    call_id = next(e["call_id"] for e in logs if e["event"] == "call.started")
    mine = [e for e in logs if e.get("call_id") == call_id]
    names = [e["event"] for e in mine]
    for kind in ("call.started", "call.answered", "ivr.entered", "acd.queued", "acd.offered",
                 "acd.connected", "call.ended"):
        assert kind in names, (kind, names)
    connected = next(e for e in mine if e["event"] == "acd.connected")
    assert connected["queue"] == "support" and connected["agent"] in ("1001", "1002")
    ended = next(e for e in mine if e["event"] == "call.ended")
    assert ended["outcome"] == "answered"  # what the row says, not a generic "completed"
    store = Store(rig.db)
    try:
        async with store.session() as s:
            kinds = list(await s.scalars(select(CallEventRow.kind)
                                         .where(CallEventRow.call_id == call_id)
                                         .order_by(CallEventRow.seq)))
    finally:
        await store.close()
    assert [n for n in names if n in set(kinds)] == kinds  # the same events, in the same order
    states = [e for e in logs if e["event"] == "agent.state" and e.get("call_id") == call_id]
    assert {e["state"] for e in states} >= {"reserved", "on_call", "wrapup"}
    actions = [e for e in logs if e["event"] == "ami.action"]
    login = next(e for e in actions if e["action"] == "Login")
    assert login["Secret"] == "***"
    assert any(e["action"] == "AGI" and e.get("Command") for e in actions)
