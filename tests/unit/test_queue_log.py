"""queue_log lines from the engine's events (pure): each event Asterisk documents, with
its fields in Asterisk's order."""

from __future__ import annotations

from core.agentstate import AgentStatus
from reports.queuelog import QueueLogBook


def queued(book: QueueLogBook, cid: str = "c1", at: float = 1000.0, position: int = 2) -> list[str]:
    book.started(cid, "+34600|1")  # a '|' in caller id must not shift the fields
    return book.step(cid, "acd.queued", at, {"queue": "support", "position": position})


def test_a_call_answered_then_ended_by_the_agent() -> None:
    book = QueueLogBook(devices={"1001": "PJSIP/agent1001"})
    assert queued(book) == ["1000|c1|support|NONE|ENTERQUEUE||+34600/1"]
    assert book.step("c1", "acd.offered", 1010.0, {"agent": "1001"}) == []
    assert book.step("c1", "acd.no_answer", 1012.5, {"agent": "1001"}) == \
        ["1012|c1|support|Agent/1001|RINGNOANSWER|2500"]
    book.step("c1", "acd.offered", 1013.0, {"agent": "1002"})
    assert book.step("c1", "acd.connected", 1016.0, {"agent": "1002", "wait": 16.0}) == \
        ["1016|c1|support|Agent/1002|CONNECT|16|c1|3"]
    on_call = AgentStatus("on_call", call_id="c1")
    book.agent("1002", on_call, AgentStatus("wrapup", call_id="c1"), 1100.0)  # hung up first
    assert book.ended("c1", 1100.5) == ["1100|c1|support|Agent/1002|COMPLETEAGENT|16|84|2"]


def test_a_caller_who_hangs_up_first_completes_as_caller() -> None:
    book = QueueLogBook()
    queued(book)
    book.step("c1", "acd.connected", 1005.0, {"agent": "1001"})
    assert book.ended("c1", 1065.0) == ["1065|c1|support|Agent/1001|COMPLETECALLER|5|60|2"]


def test_abandon_timeout_key_and_empty_exits() -> None:
    book = QueueLogBook()
    queued(book, "a")
    assert book.step("a", "acd.abandoned", 1030.0, {"position": 1}) == \
        ["1030|a|support|NONE|ABANDON|1|2|30"]
    queued(book, "t")
    assert book.step("t", "acd.overflowed", 1300.0, {"reason": "max_wait"}) == \
        ["1300|t|support|NONE|EXITWITHTIMEOUT|2|2|300"]
    queued(book, "k")
    assert book.step("k", "acd.overflowed", 1020.0, {"reason": "key 1"}) == \
        ["1020|k|support|NONE|EXITWITHKEY|1|2|2|20"]
    queued(book, "e")
    assert book.step("e", "acd.overflowed", 1001.0, {"reason": "leave_empty"})[0].split("|")[4] == \
        "EXITEMPTY"
    assert book.ended("a", 1100.0) == []  # nothing more for a caller who left the queue


def test_transfers_to_a_queue_end_the_call_here_and_to_a_colleague_carry_on() -> None:
    book = QueueLogBook()
    queued(book)
    book.step("c1", "acd.connected", 1010.0, {"agent": "1001"})
    assert book.step("c1", "acd.transferred", 1070.0, {"from": "1001", "to": "agent:1002"}) == \
        ["1070|c1|support|Agent/1001|TRANSFER|agent:1002|centralita|10|60|2"]
    assert book.ended("c1", 1100.0)[0].startswith("1100|c1|support|Agent/1002|COMPLETECALLER|")
    queued(book, "c2")
    book.step("c2", "acd.connected", 1010.0, {"agent": "1001"})
    book.step("c2", "acd.transferred", 1020.0, {"to": "queue:billing"})
    assert book.ended("c2", 1100.0) == []


def test_agent_login_pause_unpause_logoff() -> None:
    book = QueueLogBook(devices={"1001": "PJSIP/agent1001"})
    out = book.agent("1001", AgentStatus(), AgentStatus("ready"), 100.0)
    assert out == ["100|NONE|NONE|Agent/1001|AGENTLOGIN|PJSIP/agent1001"]
    assert book.agent("1001", AgentStatus("ready"), AgentStatus("paused", reason="lunch"), 200.0) == \
        ["200|NONE|NONE|Agent/1001|PAUSE|lunch"]
    assert book.agent("1001", AgentStatus("paused", reason="lunch"), AgentStatus("ready"), 300.0) == \
        ["300|NONE|NONE|Agent/1001|UNPAUSE|lunch"]
    assert book.agent("1001", AgentStatus("ready"), AgentStatus(), 400.0) == \
        ["400|NONE|NONE|Agent/1001|AGENTLOGOFF|PJSIP/agent1001|300"]
