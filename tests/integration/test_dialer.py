"""The dialer on the simulated PBX: campaigns in each mode, AMD's outcomes, abandons with
the safe-harbour message, retries, do-not-call opt-outs, blended agents, supervisors'
commands; asserted on the AMI the PBX received, rows, and MQTT messages."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from core.models import Interaction, Lead, LeadAttempt
from sim.endpoints import customer
from tests.conftest import until
from tests.integration.conftest import DialerRig, campaign_yaml

HUMAN = "+12127365001"


async def test_progressive_connects_a_person_to_an_agent_on_a_kept_line(dialer: Any) -> None:
    rig: DialerRig = await dialer(campaign_yaml(), {HUMAN: customer("human", answer_after=1.0,
                                                                   talk_time=3.0,
                                                                   random_talk=False)})
    await until(lambda: len(rig.dials()) >= 1, 20, "the customer dialled")
    await until(lambda: any(s.state == "wrapup" for s in rig.statuses()), 20, "a call handled")
    lines = [m for m in rig.server.received if m.get("Action") == "Originate"
             and m.get("Exten") == "nailed"]
    assert lines, "agents' lines were opened"
    assert rig.dials()[0]["Exten"] == "amd"
    assert any(m.get("Action") == "Bridge" for m in rig.server.received)
    attempts = await rig.rows(LeadAttempt)
    assert attempts[0].outcome == "answered" and attempts[0].human
    assert attempts[0].amd_status == "HUMAN"
    assert attempts[0].dead_air_ms is not None and attempts[0].dead_air_ms > 0
    rows = await rig.rows(Interaction, Interaction.kind == "outbound")
    assert rows and rows[0].agent in ("1001", "1002")
    await until(lambda: all(s.state == "ready" for s in rig.statuses()), 20, "ready again")
    lead = (await rig.rows(Lead))[0]
    assert lead.state == "done" and lead.attempts == 1


async def test_outcomes_set_each_lead_for_its_retry(dialer: Any) -> None:
    numbers = {"+12127365011": customer("machine", answer_after=1.0),
               "+12127365012": customer("busy"), "+12127365013": customer("noanswer"),
               "+12127365014": customer("congestion")}
    rig: DialerRig = await dialer(campaign_yaml(), numbers)
    await until(lambda: len(rig.dials()) >= 4, 30, "every lead dialled")

    async def settled() -> dict[str, str]:
        return {lead.number: lead.state for lead in await rig.rows(Lead)}

    for _ in range(200):
        if all(s == "retry" for s in (await settled()).values()):
            break
        await asyncio.sleep(0.1)
    leads = {lead.number: lead for lead in await rig.rows(Lead)}
    assert {n: lead.last_outcome for n, lead in leads.items()} == {
        "+12127365011": "machine", "+12127365012": "busy", "+12127365013": "no_answer",
        "+12127365014": "congestion"}
    assert all(lead.state == "retry" and lead.tries == {lead.last_outcome: 1}
               for lead in leads.values())
    # The default rules: busy again in 10 minutes, machines in 4 hours.
    busy, machine = leads["+12127365012"], leads["+12127365011"]
    assert 550 < (busy.next_at - busy.updated_at).total_seconds() <= 600
    assert (machine.next_at - machine.updated_at).total_seconds() > 3 * 3600
    machine_call = next(a for a in await rig.rows(LeadAttempt) if a.outcome == "machine")
    assert machine_call.amd_status == "MACHINE" and not machine_call.human
    assert "HANGUP" in await rig.agi_of(machine_call.call_id)
    assert not any(m.get("Action") == "Bridge" for m in rig.server.received)
    rows = {r.id: r for r in await rig.rows(Interaction, Interaction.kind == "outbound")}
    assert rows[machine_call.call_id].outcome == "machine"
    assert all(s.state == "ready" for s in rig.statuses())


def humans(first: int, n: int, **kw: Any) -> dict[str, Any]:
    return {f"+1212736{first + i:04d}": customer("human", answer_after=1.0, talk_time=30.0,
                                                  random_talk=False, **kw) for i in range(n)}


async def test_power_dialing_abandons_with_the_safe_harbour_and_the_opt_out(dialer: Any) -> None:
    # One agent, three lines per free agent: two of three people find nobody.
    people = humans(100, 2)
    people["+12127360199"] = customer("human", answer_after=3.0, talk_time=30.0,  # the last
                                      random_talk=False, digits=((0.5, "9"),))
    rig: DialerRig = await dialer(campaign_yaml("power", agents='["1001"]', ratio="3"), people,
                                  phones={"agent1001": __import__("sim.endpoints", fromlist=[
                                      "agent_phone"]).agent_phone(0.5)})
    await until(lambda: len(rig.dials()) >= 3, 20, "three dialled at once")
    for _ in range(300):  # the two who found nobody are hung up after the message
        ended = await rig.rows(Interaction, Interaction.ended_at.is_not(None))
        if len(ended) >= 2 and len(await rig.rows(LeadAttempt, LeadAttempt.outcome != "")) >= 3:
            break
        await asyncio.sleep(0.1)
    attempts = await rig.rows(LeadAttempt)
    outcomes = sorted(a.outcome for a in attempts)
    assert outcomes == ["answered", "dropped", "opted_out"], outcomes
    dropped = [a for a in attempts if a.abandoned]
    assert len(dropped) == 2 and all(a.human for a in dropped)
    for a in dropped:
        sent = await rig.agi_of(a.call_id)
        assert sent[0] == 'STREAM FILE vm-goodbye "9"' and sent[-1] == "HANGUP"
    opted = [a for a in attempts if a.outcome == "opted_out"]
    assert len(opted) == 1
    from core.models import DncEntry

    dnc = await rig.rows(DncEntry)
    assert [(d.number, d.campaign, d.source) for d in dnc] == [("+12127360199", "", "opt_out")]
    leads = {lead.number: lead for lead in await rig.rows(Lead)}
    assert leads["+12127360199"].state == "dnc"
    # The campaign's drop rule: no redial for 72 hours (then once more at most).
    others = [lead for lead in leads.values() if lead.last_outcome == "dropped"]
    assert all(lead.state == "retry" and (lead.next_at - lead.updated_at).total_seconds()
               > 71 * 3600 for lead in others)
    stats = rig.dialer.stats("sales")
    assert stats.abandon_pct_today > 0 and stats.abandon_days[-1].abandoned == 2


async def test_a_number_on_the_do_not_call_list_is_not_dialled(dialer: Any) -> None:
    from core.store import Store
    from dialer.store import LeadStore

    people = humans(200, 2)
    blocked = next(iter(people))
    rig: DialerRig = await dialer(campaign_yaml(autostart="false"), people)
    store = Store(rig.db)
    await LeadStore(store).dnc_add([blocked], campaign="sales", source="cli", at=0.0)
    await store.close()
    assert rig.campaign("sales", "start").ok
    await until(lambda: len(rig.dials()) >= 1, 20, "the other lead dialled")
    await asyncio.sleep(0.5)
    assert [m.get("Channel") for m in rig.dials()] == [
        f"PJSIP/{n}@trunk" for n in people if n != blocked]
    leads = {lead.number: lead.state for lead in await rig.rows(Lead)}
    assert leads[blocked] == "dnc"


async def test_preview_offers_the_lead_and_dials_it_when_accepted(dialer: Any, mqtt_url: str
                                                                  ) -> None:
    from tests.integration.conftest import Subscriber

    people = humans(300, 2)
    async with Subscriber(mqtt_url, "pv/") as sub:
        rig: DialerRig = await dialer(campaign_yaml("preview", agents='["1001"]'), people,
                                      prefix="pv/")
        await until(lambda: any(t == "pv/agents/1001/preview" for t, _ in sub.messages), 20,
                    "a lead offered")
        offer = next(b for t, b in sub.messages if t == "pv/agents/1001/preview")
        assert offer["campaign"] == "sales" and offer["number"] in people
        assert rig.status("1001").state == "reserved" and not rig.dials()
        assert rig.send("1001", "skip_lead", lead=offer["lead"] + 1000) is not None
        assert rig.send("1001", "skip_lead") is None
        await until(lambda: sum(t == "pv/agents/1001/preview" and b["lead"] is not None
                                for t, b in sub.messages) >= 2, 20, "the next lead offered")
        second = [b for t, b in sub.messages if t == "pv/agents/1001/preview"
                  and b["lead"] is not None][-1]
        assert second["lead"] != offer["lead"]
        assert rig.send("1001", "accept_lead", lead=second["lead"]) is None
        await until(lambda: rig.status("1001").state == "on_call", 20, "talking")
        assert rig.dials()[0]["Exten"] == "direct"  # the agent hears who answers: no AMD
        await until(lambda: any(t == "pv/agents/1001/screenpop" for t, _ in sub.messages), 20,
                    "screen-pop")
        pop = next(b for t, b in sub.messages if t == "pv/agents/1001/screenpop")
        assert pop["campaign"] == "sales" and pop["lead"]["id"] == second["lead"]
        skipped = {lead.id: lead for lead in await rig.rows(Lead)}[offer["lead"]]
        assert skipped.state == "retry" and skipped.tries == {"skipped": 1}


async def test_a_blended_agent_takes_an_inbound_caller_on_the_kept_line(dialer: Any) -> None:
    rig: DialerRig = await dialer(campaign_yaml(autostart="false"), {})
    assert rig.campaign("sales", "start").ok
    await until(lambda: rig.engine.lines.idle("1001") is not None
                and rig.engine.lines.idle("1002") is not None, 20, "both lines up")
    rings_before = len(rig.originates())
    ch = rig.call()
    await until(lambda: any(s.state == "on_call" for s in rig.statuses()), 20, "answered")
    assert len(rig.originates()) == rings_before  # no phone rang: the line took it
    agent = next(a for a in ("1001", "1002") if rig.state(a) == "on_call")
    assert rig.status(agent).owner == "acd"
    assert rig.send(agent, "hangup") is None  # ends the caller, keeps the line
    await until(lambda: ch.gone, 20, "the caller hung up by the agent")
    await until(lambda: rig.engine.lines.idle(agent) is not None, 20, "the line idle again")


async def test_supervisors_commands_and_a_trunk_that_refuses_everything(dialer: Any) -> None:
    people = {f"+1212736{400 + i:04d}": customer("congestion") for i in range(12)}
    rig: DialerRig = await dialer(campaign_yaml(autostart="false"), people)
    reply = rig.campaign("nosuch", "start")
    assert not reply.ok and "unknown campaign 'nosuch'" in (reply.error or "")
    assert "must be one of" in (rig.campaign("sales", "jump").error or "")
    bad = rig.campaign("sales", "set_mode", mode="predictive", ratio=2)
    assert not bad.ok and "ratio only applies to power" in (bad.error or "")
    assert rig.campaign("sales", "start").ok
    assert not rig.campaign("sales", "start").ok  # running already
    await until(lambda: rig.dialer.runs["sales"].status == "stopped", 30, "stopped by itself")
    why = rig.dialer.runs["sales"].why
    refused = re.search(r"the trunk refused the last (\d+) calls", why)
    assert refused and int(refused.group(1)) >= 10 and "PJSIP/{number}@trunk" in why
    dials = len(rig.dials())
    await asyncio.sleep(0.5)
    assert len(rig.dials()) == dials  # it does not spin


DISPOSITIONS = ('{default: sale/none, codes: {sale/none: {}, sale/yes: {}, '
                'sale/later: {ticket: requires_follow_up}, sale/never: {}}}')


async def test_dispositions_set_the_lead_callbacks_and_do_not_call(dialer: Any, mqtt_url: str
                                                                   ) -> None:
    from core.models import DncEntry
    from tests.integration.conftest import Subscriber

    people = humans(500, 2)
    second = list(people)[1]
    async with Subscriber(mqtt_url, "dd/") as sub:
        rig: DialerRig = await dialer(campaign_yaml(
            dispositions=DISPOSITIONS, dnc_codes="[sale/never]", wrapup="30", agents='["1001"]'),
            people, prefix="dd/")
        await until(lambda: rig.status("1001").state == "on_call", 20, "first call")
        await until(lambda: any(t == "dd/agents/1001/wrapup" for t, _ in sub.messages)
                    or rig.status("1001").state == "on_call", 5, "")
        assert rig.send("1001", "disposition", code="sale/maybe") is not None
        call_1 = rig.status("1001").call_id
        assert rig.send("1001", "disposition", code="sale/never") is None
        assert rig.send("1001", "hangup") is None
        await until(lambda: rig.status("1001").state == "wrapup", 20, "wrap-up")
        await until(lambda: any(t == "dd/agents/1001/wrapup" for t, _ in sub.messages), 20,
                    "the codes offered")
        codes = next(b for t, b in sub.messages if t == "dd/agents/1001/wrapup")
        assert codes["queue"] == "sales" and codes["default"] == "sale/none"
        assert rig.send("1001", "ready") is None
        await until(lambda: rig.status("1001").state == "on_call"
                    and rig.status("1001").call_id != call_1, 20, "second call")
        when = "2099-01-05T15:00:00+00:00"
        assert rig.send("1001", "disposition", code="sale/later", follow_up_at=when) is None
        assert rig.send("1001", "hangup") is None
        await until(lambda: rig.status("1001").state == "wrapup", 20, "wrap-up")
        assert rig.send("1001", "end_wrapup") is None
    await until(lambda: rig.status("1001").state == "ready", 20, "ready")
    for _ in range(100):
        leads = {lead.number: lead for lead in await rig.rows(Lead)}
        if leads[second].state == "callback":
            break
        await asyncio.sleep(0.1)
    by_call = {lead.last_call_id: lead for lead in leads.values()}
    never, later = by_call[call_1], next(v for k, v in by_call.items() if k != call_1)
    assert never.state == "dnc"
    assert later.state == "callback" and later.dial_rank == 0 and later.agent == "1001"
    assert later.next_at.year == 2099
    dnc = await rig.rows(DncEntry)
    assert [(d.number, d.campaign, d.source) for d in dnc] == [(never.number, "sales", "agent")]
    rows = {r.id: r for r in await rig.rows(Interaction)}
    assert rows[call_1].disposition == "sale/never" and not rows[call_1].flagged


async def test_predictive_dials_ahead_of_free_agents_with_history(dialer: Any) -> None:
    from core.store import Store
    from dialer.store import LeadStore

    async def last_hour(db: str) -> None:  # a person answers one dial in four, talks 200 s
        store = Store(db)
        leads = LeadStore(store)
        now = time.time()
        for i in range(200):
            human = i % 4 == 0
            await leads.add_attempt(lead_id=0, campaign="sales", call_id=f"h{i}", at=now - 3600,
                                    outcome="answered" if human else "no_answer", human=human,
                                    ring_s=3.0 if human else None, amd_s=1.9 if human else None,
                                    talk_s=200.0 if human else None,
                                    wrapup_s=5.0 if human else None)
        await store.close()

    rig: DialerRig = await dialer(campaign_yaml("predictive", max_dial_level="3"),
                                  humans(600, 40), history=last_hour)
    await until(lambda: rig.dialer.runs["sales"].last_dial.startswith("predictive"), 20,
                "predictive pacing")
    # More customers ringing at once than the two agents, none of them held for a call.
    await until(lambda: len(rig.dialer.runs["sales"].calls) > 2, 20, "more lines than agents")
    assert not any(c.held for c in rig.dialer.runs["sales"].calls.values())


async def test_stats_are_published_and_a_broken_reload_changes_nothing(dialer: Any,
                                                                       mqtt_url: str) -> None:
    from pathlib import Path

    from tests.integration.conftest import Subscriber

    p = f"st{uuid.uuid4().hex[:6]}/"  # retained messages outlive the test
    async with Subscriber(mqtt_url, p) as sub:
        rig: DialerRig = await dialer(campaign_yaml(), humans(700, 3), prefix=p)
        await until(lambda: any(t == f"{p}campaigns/sales/stats" and b["leads"]
                                for t, b in sub.messages), 40, "stats with lead counts")
        stats = [b for t, b in sub.messages if t == f"{p}campaigns/sales/stats"][-1]
        assert stats["status"] == "running" and stats["mode"] == "progressive"
        assert stats["abandon_cap"] == 3.0 and set(stats["agents"]) <= {
            "ready", "reserved", "on_call", "wrapup", "paused", "logged_out"}
        assert sum(stats["leads"].values()) == 3
        path = Path(rig.engine.settings.dialer.campaigns or "")
        good = path.read_text()
        path.write_text(good.replace("ring_timeout: 15", "ring_timeout: 10"))
        reply = rig.campaign("sales", "reload")
        assert not reply.ok and f"{path}:" in (reply.error or "") \
            and "under 15 s" in (reply.error or "")
        assert rig.dialer.runs["sales"].config.ring_timeout == 15
        path.write_text(good + good.split("campaigns:\n")[1].replace("  sales:", "  renewals:")
                        .replace("    wrapup: 1", "    wrapup: 1\n    autostart: false"))
        assert rig.campaign("sales", "reload").ok
        assert rig.dialer.runs["renewals"].status == "stopped"
        assert rig.campaign("sales", "pause").ok
        await until(lambda: any(t == f"{p}campaigns/sales/stats" and b["status"] == "paused"
                                for t, b in sub.messages), 20, "paused shown")
