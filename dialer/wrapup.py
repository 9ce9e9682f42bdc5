"""After a campaign's call: wrap-up (the campaign's time, then ready again), the
disposition with the queues' after-call rules (core/dispositions.py: codes, notes,
tickets, a follow-up), and what it does to the lead: done, a callback at the follow-up
time (to the same agent if asked), or the do-not-call list for the campaign's
`dnc_codes`. No disposition by the end of wrap-up: the campaign's default, flagged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog

from core.agentstate import FinishCall, MakeReady
from core.dispositions import Closing, check_closing, fill_template, template_fields
from core.payloads import WrapupCode, WrapupCodes
from core.pool import AgentChanged
from core.ports import Ports
from core.records import AfterCallRecords
from dialer.figures import Measurements
from dialer.hours import callable_now
from dialer.outcomes import RANK_NONE, after_attempt, follow_up
from dialer.state import DialerCall, Run, campaign_of
from dialer.store import LeadStore

NOTES_MAX = 4000


class Wrapups:
    def __init__(self, runs: dict[str, Run], ports: Ports, leads: LeadStore,
                 records: AfterCallRecords, measurements: dict[str, Measurements]) -> None:
        self.runs = runs
        self.ports = ports
        self.leads = leads
        self.records = records
        self.measurements = measurements
        self.calls: dict[str, DialerCall] = {}  # connected calls until their wrap-up ends
        self.closed: set[str] = set()  # given a disposition
        self.log = structlog.get_logger("dialer")

    def owns(self, agent: str) -> bool:
        """Is the agent on (or wrapping up) one of the dialer's calls?"""
        if agent not in self.ports.pool:
            return False
        st = self.ports.pool.status(agent)
        return st.state in ("on_call", "wrapup") and campaign_of(st.owner) is not None \
            and st.call_id in self.calls

    # --- wrap-up --------------------------------------------------------------------------

    def connected(self, call: DialerCall) -> None:
        self.calls[call.call_id] = call

    def forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)

    def call_ended(self, run: Run, call: DialerCall, at: float) -> None:
        """The customer hung up (or the agent did): wrap-up, for the campaign's time."""
        agent = call.agent
        self.calls[call.call_id] = call
        if agent is None or self.ports.pool.try_apply(agent, FinishCall(call.call_id)) is None:
            self._settle(run, call, None)
            return
        self.ports.data(call.call_id, {}, outcome="answered", at=at)
        if run.config.dispositions is not None and self.ports.topics is not None:
            self.ports.spawn(self._offer_codes(run, call, agent))
        self.ports.spawn(self._end_wrapup(run, agent, call.call_id))

    async def _end_wrapup(self, run: Run, agent: str, call_id: str) -> None:
        seconds = run.config.wrapup
        await asyncio.sleep(seconds)
        if self.ports.pool.status(agent).wrapup_extended:
            await asyncio.sleep(seconds)  # extended once, by one more wrap-up period
        st = self.ports.pool.status(agent)
        if st.state == "wrapup" and st.call_id == call_id and run.config.auto_ready:
            self.ports.pool.try_apply(agent, MakeReady())

    def agent_changed(self, change: AgentChanged) -> None:
        before, after = change.before, change.after
        if before.state != "wrapup" or after.state == "wrapup" or before.call_id is None:
            return
        call = self.calls.pop(before.call_id, None)
        if call is None:
            return
        run = self.runs.get(call.campaign)
        now = self.ports.clock()
        seconds = round(now - before.since, 3)
        self.ports.update(call.call_id, wrapup_s=seconds)
        self._attempt(call, wrapup_s=seconds)
        if run is None:
            return
        self.measurements[run.name].wrapped(seconds)
        if call.call_id in self.closed:
            self.closed.discard(call.call_id)
            return
        d = run.config.dispositions
        if d is None:
            self._settle(run, call, None)
            return
        spec = d.codes[d.default]
        self._close(run, call, change.agent_id,
                    Closing(d.default, "", spec.ticket, None, "agent"), flagged=True)

    async def _offer_codes(self, run: Run, call: DialerCall, agent: str) -> None:
        d = run.config.dispositions
        topics = self.ports.topics
        assert d is not None and topics is not None
        fields = template_fields(customer_name=str(call.lead.fields.get("name", "")),
                                 account=str(call.lead.fields.get("account", "")),
                                 number=call.lead.number, at=self.ports.clock(),
                                 reference=call.call_id, agent=agent, queue=run.name)
        codes = WrapupCodes(call_id=call.call_id, agent=agent, queue=run.name, default=d.default,
                            codes=[WrapupCode(code=code, notes=spec.notes, ticket=spec.ticket,
                                              template=fill_template(spec.template, fields)
                                              if spec.template else None)
                                   for code, spec in d.codes.items()])
        self.ports.outbox(f"wrapup codes {call.call_id}", topics.agent_wrapup(agent),
                          codes.encode())

    # --- the agent's commands -------------------------------------------------------------

    def _current(self, agent: str) -> tuple[Run, DialerCall] | str:
        st = self.ports.pool.status(agent)
        call = self.calls.get(st.call_id or "")
        run = self.runs.get(call.campaign) if call is not None else None
        if call is None or run is None:
            return f"not on a campaign's call or in its wrap-up ({st.state})"
        return run, call

    def disposition(self, agent: str, code: str, notes: str, *, ticket: str | None,
                    follow_up_at: str | None, follow_up_to: str | None) -> str | None:
        current = self._current(agent)
        if isinstance(current, str):
            return current
        run, call = current
        if call.call_id in self.closed:
            return "this call has its disposition already"
        zones = call.lead.zones.split("|")
        closing = check_closing(
            run.config.dispositions, code, notes, notes_max=NOTES_MAX, ticket=ticket,
            follow_up_at=follow_up_at, follow_up_to=follow_up_to, now=self.ports.clock(),
            is_open=lambda when: callable_now(run.config.hours, zones, when.astimezone(UTC)))
        if isinstance(closing, str):
            if "queue" in closing and run.config.dispositions is None:
                closing = "this campaign has no dispositions configured"
            elif "business hours" in closing:
                closing = closing.replace("business hours", "the lead's calling hours")
            self.log.info("dialer.disposition_refused", call_id=call.call_id, agent=agent,
                          why=closing)
            return closing
        self.closed.add(call.call_id)
        self._close(run, call, agent, closing, flagged=False)
        return None

    def _close(self, run: Run, call: DialerCall, agent: str, c: Closing, *, flagged: bool) -> None:
        now = self.ports.clock()
        self.ports.step(call.call_id, "dialer.disposition", {
            "agent": agent, "code": c.code, "ticket": c.ticket, "flagged": flagged,
            "follow_up_at": c.follow_up_at}, at=now)

        async def op() -> None:
            await self.records.close_call(call.call_id, agent=agent, code=c.code, notes=c.notes,
                                          status=c.ticket, at=now, flagged=flagged, queue=None,
                                          tier=1)

        self.ports.journal.submit(f"disposition {call.call_id}", op)
        self._settle(run, call, c, agent=agent)

    def _settle(self, run: Run, call: DialerCall, c: Closing | None, *, agent: str = "") -> None:
        """The lead after a connected call: done, a callback, or do-not-call."""
        now = self.ports.clock()
        lead = call.lead
        if c is not None and c.code in run.config.dnc_codes:
            self.ports.write(f"dnc {lead.number}", self.leads.dnc_add, [lead.number],
                             campaign=run.name, source="agent", at=now,
                             note=f"{c.code} by {agent} on {call.call_id}")
            self.ports.step(call.call_id, "dialer.dnc_added", {"number": lead.number,
                                                               "code": c.code}, at=now)
            run.hopper.hold_back(lead.id)
            self.ports.write(f"lead {lead.id}", run.hopper.save, lead.id, now,
                             state="dnc", dial_rank=RANK_NONE, last_outcome="answered")
            return
        if c is not None and c.follow_up_at is not None:
            u = follow_up(lead.tries, c.follow_up_at)
            pinned = agent if c.follow_up_to == "agent" else None
            self.ports.step(call.call_id, "dialer.callback_scheduled", {
                "lead": lead.id, "due": datetime.fromtimestamp(c.follow_up_at, UTC).isoformat(),
                "agent": pinned}, at=now)
        else:
            u = after_attempt(run.config, "answered", attempts=lead.attempts + 1,
                              tries=lead.tries, now=now)
            pinned = None
        run.hopper.hold_back(lead.id)
        self.ports.write(f"lead {lead.id}", run.hopper.save, lead.id, now, state=u.state,
                         dial_rank=u.rank, next_at=u.next_at, tries=u.tries,
                         last_outcome="answered", agent=pinned)

    def update_customer(self, agent: str, fields: dict[str, Any]) -> str | None:
        current = self._current(agent)
        if isinstance(current, str):
            return current
        _, call = current
        return self.records.change_customer(self.ports, call.lead.number, fields, agent=agent,
                                            call_id=call.call_id, kind="dialer.customer_updated")

    def _attempt(self, call: DialerCall, **values: Any) -> None:
        """Columns of the call's lead_attempts row."""
        self.ports.write(f"attempt {call.call_id}", self.leads.finish_attempt, call.call_id,
                         **values)
