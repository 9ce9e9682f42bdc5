"""A progressive campaign on a real Asterisk (opt-in: AMI_URL), AMD really running.

The lab's customers ([centralita-lab-customers] in asterisk/etc/extensions-lab.conf) are
Local channels that play espeak-ng voices (`python -m tests.asterisk.lab_sounds
<sounds>/centralita-lab`): a person, an answering machine, a busy line and one that never
answers. The agent's phone is the lab's Local/agent1001 (it answers and plays music), kept
connected between calls by the dialer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from asterisk.events import Hangup
from core.models import LeadAttempt, RecordingRow
from core.store import Store
from tests.asterisk.conftest import AMI_URL, Lab
from tests.integration.conftest import ALWAYS, import_leads

pytestmark = pytest.mark.skipif(not AMI_URL, reason="AMI_URL not set: no real Asterisk")

CAMPAIGNS = f"""\
region: US
campaigns:
  lab:
    mode: progressive
    agents: ["1001"]
    caller_id: "Lab <+12025550100>"
    dial: "Local/{{digits}}@centralita-lab-customers/n"
    ring_timeout: 15
    hours: {ALWAYS}
    hours_override: "a lab: the customers are recordings"
    wrapup: 1
    amd: {{enabled: true, on_machine: hangup}}
"""
PEOPLE = {"+12127365001": "human", "+12127365002": "machine", "+12127365003": "busy",
          "+12127365004": "no_answer"}


async def test_a_progressive_campaign_with_amd_on_real_asterisk(tmp_path: Path) -> None:
    directory = tmp_path / "monitor"
    lab = Lab(tmp_path, login=True, campaigns=CAMPAIGNS,
              recording=f"directory: {directory}\npolicies:\n  all: {{mode: always}}\n"
                        "default: all\ncampaigns: {lab: all}\n")
    await import_leads(lab.db, "lab", [(n, {"name": kind}) for n, kind in PEOPLE.items()])
    async with lab:
        # The agent's line: rung once, then waiting in AsyncAGI at [centralita-legs] nailed.
        await lab.until("the line up", lambda: lab.engine.lines.idle("1001") is not None)
        line = lab.engine.lines.idle("1001")
        assert line is not None and line.startswith("Local/agent1001@centralita-lab")
        await lab.until("the person put through", lambda: lab.state("1001") == "on_call")
        await lab.until("bridged", lambda: any(
            e.name == "BridgeEnter" and e.message.get("Channel", "").startswith(
                "Local/12127365001@centralita-lab-customers") for e in lab.seen))
        await lab.until("recording", lambda: any(e.name == "MixMonitorStart" for e in lab.seen))
        await asyncio.sleep(2.0)
        assert lab.send("1001", "hangup") is None  # the agent ends it; the line stays
        # The line is back in AsyncAGI (the same channel: the loop of nailed_bridge_loop).
        await lab.until("the line idle again", lambda: lab.engine.lines.idle("1001") == line)
        await lab.until("every lead dialled", lambda: len(_settled(lab)) >= 4, 90)
        assert not any(isinstance(e, Hangup) and e.channel == line for e in lab.seen)
        store = Store(lab.db)
        try:
            for _ in range(100):  # the recording's row completes once the file is checked
                await lab.engine.journal.drain()
                async with store.session() as s:
                    attempts = list(await s.scalars(select(LeadAttempt)
                                                    .order_by(LeadAttempt.id)))
                    recordings = list(await s.scalars(select(RecordingRow)))
                if recordings and recordings[0].status != "recording" \
                        and all(a.outcome for a in attempts):
                    break
                await asyncio.sleep(0.2)
            human = next(a for a in attempts if a.outcome == "answered")
            events = {e.kind: e.data for e in await store.events(human.call_id)}
        finally:
            await store.close()
    outcomes = {a.outcome for a in attempts}
    assert outcomes == {"answered", "machine", "busy", "no_answer"}, outcomes
    machine = next(a for a in attempts if a.outcome == "machine")
    assert (human.amd_status, human.agent, human.human) == ("HUMAN", "1001", True)
    assert machine.amd_status == "MACHINE" and not machine.human
    # AMD decides after_greeting_silence (0.8 s) after the "Hello?": the person hears
    # that, then the Bridge (milliseconds); all of it is the dead air recorded.
    assert human.dead_air_ms is not None and 1000 < human.dead_air_ms < 2500, human.dead_air_ms
    assert human.amd_s is not None and human.amd_s < 2.5
    # From AMD's verdict to the Bridge's answer: the engine's part of the dead air.
    assert events["dialer.connected"]["after_verdict_ms"] < 200, events["dialer.connected"]
    [rec] = recordings
    assert rec.status == "complete" and rec.campaign == "lab" and rec.agent == "1001"
    assert Path(rec.path).exists()


def _settled(lab: Lab) -> list[str]:
    run = lab.engine.dialer.runs["lab"] if lab.engine.dialer is not None else None
    return [] if run is None else [
        e.message.get("Channel", "") for e in lab.seen if e.name == "OriginateResponse"
        and "centralita-lab-customers" in e.message.get("Channel", "")]
