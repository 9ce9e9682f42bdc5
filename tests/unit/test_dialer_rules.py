"""The dialer's rules (pure): campaigns as admins write them, numbers and calling hours in
the called party's time, lead CSV files, and what each outcome does to a lead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import ConfigError
from core.people import Agent, AgentsConfig
from core.schedule import Schedule
from dialer.hours import callable_now, default_hours, open_zone_keys, outside_legal_window
from dialer.leads import ImportRefused, decode, mapping_from, parse
from dialer.model import parse_campaigns
from dialer.numbers import BadNumber, callee
from dialer.outcomes import after_attempt, outcome_of_reason, skipped, verdict

AGENTS = AgentsConfig(skills=["sales"], agents=[
    Agent(id="1001", device="PJSIP/agent1001", skills={"sales": 3}),
    Agent(id="1002", device="PJSIP/agent1002", skills={"sales": 1})])

GOOD = """\
region: US
campaigns:
  sales:
    mode: predictive
    skills: {sales: 2}
    caller_id: "Acme <+12025550100>"
    safe_harbour: {prompt: vm-goodbye, identity: Acme, callback_number: "+12025550100"}
"""


def campaigns(text: str) -> list[str]:
    try:
        parse_campaigns(text, "campaigns.yaml", AGENTS)
    except ConfigError as exc:
        return exc.problems
    return []


def test_a_good_campaign_and_who_serves_it() -> None:
    config = parse_campaigns(GOOD, "campaigns.yaml", AGENTS)
    sales = config.campaigns["sales"]
    assert sales.abandon_cap == 3.0 and sales.ring_timeout == 20
    assert sales.hours.weekly["mon"] == ["08:00-21:00"]
    assert config.members(AGENTS) == {"1001": frozenset({"sales"}), "1002": frozenset()}
    assert sales.amd.params.args() == "2500,1500,800,5000,100,50,2,256"


@pytest.mark.parametrize(("change", "expected"), [
    ("    ring_timeout: 10\n", "campaigns.yaml:8: campaigns.sales.ring_timeout: "
                             "ring_timeout 10 s is under 15 s"),
    ("    abandon_cap: 5\n", "abandon_cap 5 % is over 3 %"),
    ("    hours: {timezone: UTC, weekly: {mon: [\"07:00-22:00\"]}}\n",
     "calling hours outside 08:00-21:00 (mon 07:00-22:00)"),
    ("    agents: [\"9999\"]\n", "unknown agent '9999'"),
    ("    amd: {on_machine: message}\n", "on_machine: message needs the message prompt"),
    ("    dnc_codes: [x/y]\n", "dnc_codes ['x/y'] are not among the dispositions' codes"),
    ("    dial: \"SIP/trunk/5551234\"\n", "campaigns.yaml:8: campaigns.sales.dial: "
                                      "'SIP/trunk/5551234' is not a channel to dial"),
])
def test_campaigns_that_break_the_rules_are_refused_with_file_and_line(change: str,
                                                                       expected: str) -> None:
    problems = campaigns(GOOD + change)
    assert any(expected in p for p in problems), problems


def test_predictive_needs_a_safe_harbour_and_overrides_need_a_reason() -> None:
    no_harbour = GOOD.replace(
        '    safe_harbour: {prompt: vm-goodbye, identity: Acme, callback_number: "+12025550100"}\n',
        "")
    assert any("needs safe_harbour" in p for p in campaigns(no_harbour))
    assert campaigns(GOOD + "    abandon_cap: 5\n    abandon_cap_override: "
                            "\"a survey line, not telemarketing (legal 2026-04)\"\n") == []
    assert any("unknown prompt" in p or "neither a stock sound" in p
               for p in campaigns(GOOD.replace("vm-goodbye", "our-own-message")))


def test_numbers_become_e164_with_their_possible_zones() -> None:
    assert callee("(212) 736-5000", region="US").number == "+12127365000"
    assert callee("+34 600 12 34 56", region="US").zones == ("Atlantic/Canary", "Europe/Madrid")
    assert callee("600123456", region="ES", zone="Europe/Madrid").zones == ("Europe/Madrid",)
    for bad, why in (("12", "not a valid number"), ("call me", "not a phone number"),
                     ("+34 600 12 34 56", "unknown time zone")):
        with pytest.raises(BadNumber, match=why):
            callee(bad, region="US", zone="Mars/Base" if why.startswith("unknown") else None)


def test_calling_hours_are_the_called_partys_and_every_zone_must_be_open() -> None:
    hours = default_hours()
    at = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)  # 20:30 Madrid, 19:30 Canaries
    assert callable_now(hours, ["Europe/Madrid"], at)
    assert not callable_now(hours, ["America/New_York"], at.replace(hour=12))  # 07:00 there
    late = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 21:30 Madrid, 20:30 Canaries
    assert callable_now(hours, ["Atlantic/Canary"], late)
    assert not callable_now(hours, ["Atlantic/Canary", "Europe/Madrid"], late)
    assert open_zone_keys(hours, ["Atlantic/Canary", "Atlantic/Canary|Europe/Madrid"], late) \
        == ["Atlantic/Canary"]
    holiday = Schedule(timezone="UTC", weekly=hours.weekly,
                       holidays=[datetime(2026, 11, 23).date()])
    assert not callable_now(holiday, ["Europe/Madrid"], at)
    assert outside_legal_window(Schedule(timezone="UTC", weekly={"sat": ["09:00-21:30"]})) \
        == ["sat 09:00-21:30"]


def test_lead_files_report_bad_rows_by_line_and_keep_the_first_duplicate() -> None:
    text = ("Phone,Name,Zone\n+12127365000,Ann,\n212 736 5001,Bob,\n12,Cy,\n"
            "+12127365000,Ann again,\n+34600123456,Dee,Europe/Madrid\n")
    parsed = parse(text, "leads.csv", mapping=mapping_from(["number=Phone", "name=Name",
                                                            "zone=Zone"]), region="US")
    assert [lead.number for lead in parsed.leads] == ["+12127365000", "+12127365001",
                                                      "+34600123456"]
    assert parsed.leads[2].zones == "Europe/Madrid"
    assert parsed.problems == ["line 4: '12' is not a valid number in US or in E.164"]
    assert parsed.duplicate_lines == [
        "line 5: +12127365000 is already on an earlier line (kept the first)"]
    assert parsed.leads[0].fields == {"name": "Ann"}


@pytest.mark.parametrize(("data", "mapping", "why"), [
    (b"Phone\n\xff\xfe12\n", ["number=Phone"], "leads.csv:2: not UTF-8"),
    (b"Tel\n+12127365000\n", ["number=Phone"], "leads.csv:1: no column 'Phone'"),
    (b"Phone\n" + b"1" * (11 * 1024 * 1024) + b"\n", ["number=Phone"],
     "leads.csv:2: a line of 11,534,337 characters is not a lead"),
    (b"", ["number=Phone"], "the file is empty"),
    (b"Phone\n1\n", ["name=Phone"], "the mapping needs number=<column>"),
])
def test_lead_files_that_cannot_be_read_are_refused_whole(data: bytes, mapping: list[str],
                                                          why: str) -> None:
    with pytest.raises(ImportRefused, match=why):
        parse(decode(data, "leads.csv"), "leads.csv", mapping=mapping_from(mapping),
              region="US")
    with pytest.raises(ImportRefused, match="write field=column"):
        mapping_from(["number"])


def test_outcomes_and_the_leads_next_try() -> None:
    c = parse_campaigns(GOOD, "campaigns.yaml", AGENTS).campaigns["sales"]
    assert [outcome_of_reason(r) for r in (3, 5, 8, 0, 1, 4711)] == [
        "no_answer", "busy", "congestion", "failed", "failed", "failed"]
    assert [verdict(s, "human") for s in ("HUMAN", "MACHINE", "NOTSURE", "HANGUP", "NOAMD")] == [
        "human", "machine", "human", "hung_up", "human"]
    assert verdict("NOTSURE", "machine") == "machine"
    busy = after_attempt(c, "busy", attempts=1, tries={}, now=1000.0)
    assert (busy.state, busy.rank, busy.next_at, busy.tries) == ("retry", 1, 1600.0, {"busy": 1})
    fourth = after_attempt(c, "busy", attempts=4, tries={"busy": 3}, now=0.0)
    assert fourth.state == "exhausted"  # three retries of a busy line, then no more
    assert after_attempt(c, "no_answer", attempts=6, tries={}, now=0.0).state == "exhausted"
    assert after_attempt(c, "answered", attempts=1, tries={}, now=0.0).state == "done"
    assert after_attempt(c, "opted_out", attempts=1, tries={}, now=0.0).state == "dnc"
    dropped = after_attempt(c, "dropped", attempts=1, tries={}, now=0.0)
    assert dropped.state == "retry" and dropped.next_at == 72 * 3600
    callback = after_attempt(c.model_copy(update={"drop": "callback"}), "dropped", attempts=1,
                             tries={}, now=0.0)
    assert callback.state == "callback" and callback.rank == 0
    assert skipped({"busy": 1}, 10.0).tries == {"busy": 1, "skipped": 1}
