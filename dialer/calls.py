"""Dialing a lead and what follows, as Asterisk 20.20.1 does it
(../shared/ami-transcripts/dialer):

1. `Originate` (Async, ChannelId) to the customer into [centralita-dialer]: `amd` runs
   AMD() first, `direct` none. Its OriginateResponse comes at the answer (Reason 4), or
   says why not: 3 no answer (after the ring timeout), 5 busy, 8 congestion, 0 failed.
2. After AMD the answered leg enters AsyncAGI with AMDSTATUS and AMDCAUSE as AGI's
   arguments (CallParked.args), 1.885 s after the answer for a person's "Hello?".
3. A person is joined to an agent's kept line (`Bridge`: 0-2 ms) at once, or within what
   is left of the 2 s after their greeting (AMD decides `after_greeting_silence` after it);
   nobody free by then: the safe-harbour message (`STREAM FILE` with the opt-out key),
   then `HANGUP`: abandoned. A machine: hung up, or a message left.

Every attempt is an interaction of kind `outbound` (its events, `dialer.*`) and a
`lead_attempts` row; the lead's state follows dialer/outcomes.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected, CallEnded, CallParked, CallStarted
from core.payloads import ScreenPop
from core.ports import Ports
from dialer.figures import Measurements
from dialer.outcomes import RANK_NONE, REFUSED, after_attempt, outcome_of_reason, verdict
from dialer.state import DialerCall, Run, owner_of
from dialer.store import LeadRow, LeadStore

TWO_SECONDS = 2.0  # the person's greeting to an agent (US TSR 310.4(b)(1)(iv))
#: kept back from the 2 s for the Bridge action and the event's way back
MARGIN = 0.1
#: Hangup causes for dials that never made a channel (the interaction's hangup_cause)
CAUSES = {"busy": 17, "no_answer": 19, "congestion": 34, "failed": 0}

#: told when a connected call ends: (run, call, when)
Ended = Callable[[Run, DialerCall, float], None]


def dial_string(template: str, number: str) -> str:
    """`{number}` is E.164 with its +, `{digits}` the same without it."""
    return template.replace("{number}", number).replace("{digits}", number.lstrip("+"))


class Calls:
    def __init__(self, runs: dict[str, Run], ports: Ports, leads: LeadStore,
                 measurements: dict[str, Measurements], *, kick: Callable[[], None],
                 connected: Callable[[DialerCall], None], unjoined: Callable[[str], None],
                 connected_ended: Ended) -> None:
        self.runs = runs
        self.ports = ports
        self.leads = leads
        self.measurements = measurements
        self.kick = kick  # something changed the pacing should see
        self.connected = connected  # a person and an agent were joined
        self.unjoined = unjoined  # ... but their Bridge failed
        self.connected_ended = connected_ended
        self.alive: dict[str, DialerCall] = {}  # dialled and not ended
        self.log = structlog.get_logger("dialer")
        ports.bus.subscribe(CallParked, self._parked)
        ports.bus.subscribe(CallEnded, self._ended)

    # --- dialing ------------------------------------------------------------------------

    async def dial(self, run: Run, lead: LeadRow, agent: str | None,
                   call_id: str | None = None) -> None:
        """Dial `lead` for `run`; `agent` is held for it (progressive, preview)."""
        ports = self.ports
        c = run.config
        call_id = call_id or uuid.uuid4().hex[:16]
        try:
            blocked = await self.leads.dnc_blocked([lead.number], run.name)
        except Exception as exc:  # the list cannot be checked: the number is not called
            self.log.warning("dialer.dnc_check_failed", campaign=run.name, lead=lead.id,
                             error=str(exc)[:200])
            if agent is not None:
                ports.pool.release(agent, call_id)
            return
        if blocked:
            self.log.info("dialer.lead_on_dnc", campaign=run.name, lead=lead.id)
            self._save_lead(run, lead, "dnc", attempts=lead.attempts)
            if agent is not None:
                ports.pool.release(agent, call_id)
            self.kick()
            return
        now = ports.clock()
        leg = f"dlr-{uuid.uuid4().hex[:12]}"
        call = DialerCall(call_id, run.name, lead, leg, now, agent=agent, held=agent is not None)
        run.calls[call_id] = call
        self.alive[call_id] = call
        target = dial_string(c.dial, lead.number)
        attempts = lead.attempts + 1
        ports.write(f"lead {lead.id} dialing", self.leads.set_lead, lead.id, now,
                    state="dialing", dial_rank=RANK_NONE, attempts=attempts,
                    last_call_id=call_id)
        ports.write(f"attempt {call_id}", self.leads.add_attempt, lead_id=lead.id,
                    campaign=run.name, call_id=call_id, at=now, agent=agent)
        ports.bus.publish(CallStarted(call_id, target, lead.number,
                                      str(lead.fields.get("name", ""))[:200], run.name,
                                      dp.DIALER, now, kind="outbound"))
        ports.data(call_id, {"campaign": run.name, "lead": lead.id, "attempt": attempts},
                   at=now)
        ports.step(call_id, "dialer.dialled", {
            "campaign": run.name, "lead": lead.id, "number": lead.number, "agent": agent,
            "mode": run.mode, "attempt": attempts}, at=now)
        ports.spawn(self._prepare_pop(run, call))
        ports.registry.expect(leg, call_id)
        amd = c.amd.enabled and run.mode != "preview"
        response: OriginateResponse | None = None
        error = ""
        try:
            outcome = await ports.ami.originate(actions.originate(
                channel=target, context=dp.DIALER, exten=dp.AMD if amd else dp.DIRECT,
                channel_id=leg, ring_timeout=c.ring_timeout, caller_id=c.caller_id,
                variables={dp.CALL_ID: call_id, dp.CAMPAIGN: run.name, dp.LEAD: str(lead.id),
                           dp.AMD_ARGS: c.amd.params.args()}))
            response = await asyncio.wait_for(outcome, c.ring_timeout + 30)
        except AmiError as exc:
            error = str(exc)[:200]
        except TimeoutError:
            error = "no OriginateResponse"
        if response is None or not response.success:
            reason = response.reason if response is not None else -1
            self._not_answered(run, call, outcome_of_reason(reason), reason, error)
            return
        self._answered(run, call, response.channel)

    def _not_answered(self, run: Run, call: DialerCall, outcome: str, reason: int,
                      error: str) -> None:
        now = self.ports.clock()
        self.alive.pop(call.call_id, None)
        run.calls.pop(call.call_id, None)
        self.measurements[run.name].dial_settled(False)
        run.refused_in_row = run.refused_in_row + 1 if outcome in REFUSED else 0
        call.outcome = outcome
        self.ports.step(call.call_id, "dialer.not_answered", {
            "outcome": outcome, "reason": reason, "error": error or None}, at=now)
        self.log.info("dialer.not_answered", campaign=run.name, call_id=call.call_id,
                      lead=call.lead.id, outcome=outcome, reason=reason, error=error or None)
        self._attempt(call, outcome=outcome)
        self._save_lead(run, call.lead, outcome, attempts=call.lead.attempts + 1)
        if call.held and call.agent is not None:
            self.ports.pool.release(call.agent, call.call_id)
        self.ports.data(call.call_id, {}, outcome=outcome, at=now)
        self.ports.bus.publish(CallEnded(call.call_id, dial_string(run.config.dial,
                                                                   call.lead.number),
                                         CAUSES.get(outcome, 0), now))
        self.kick()

    def _answered(self, run: Run, call: DialerCall, channel: str) -> None:
        ports = self.ports
        now = ports.clock()
        run.refused_in_row = 0
        call.channel, call.answered_at = channel, now
        ring_s = round(now - call.dialled_at, 3)
        m = self.measurements[run.name]
        m.dial_settled(True)
        m.answer(ring_s)
        ports.step(call.call_id, "dialer.answered", {"channel": channel, "ring_s": ring_s},
                   at=now)
        ports.update(call.call_id, answered_at=now, channel=channel)
        self._attempt(call, ring_s=ring_s)
        # The leg may be in AsyncAGI already (no AMD): then CallParked comes from here.
        opened = ports.registry.open(call.call_id, channel, caller_num=call.lead.number,
                                     kind="outbound", dnis=run.name, announced=True,
                                     tell_parked=True)
        if opened is None:  # hung up already
            self._ended(CallEnded(call.call_id, channel, 16, now))

    # --- AMD's verdict ------------------------------------------------------------------

    def _parked(self, ev: CallParked) -> None:
        if ev.context != dp.DIALER:
            return
        call = self.alive.get(ev.call_id)
        if call is None or call.verdict_at is not None or call.channel != ev.channel:
            return
        run = self.runs.get(call.campaign)
        if run is None:
            return
        status = ev.args[0] if ev.args else ""
        cause = ev.args[1] if len(ev.args) > 1 else ""
        call.verdict_at, call.amd_status, call.amd_cause = ev.at, status, cause
        amd_s = round(ev.at - call.answered_at, 3) if call.answered_at is not None else None
        said = verdict(status, run.config.amd.notsure)
        self.ports.step(call.call_id, "dialer.detected", {
            "status": status, "cause": cause, "amd_s": amd_s, "verdict": said}, at=ev.at)
        self._attempt(call, amd_status=status[:16], amd_cause=cause[:64], amd_s=amd_s)
        m = self.measurements[run.name]
        if said == "hung_up":
            return  # its CallEnded follows
        m.detected(said == "human", amd_s if status != "NOAMD" else None)
        if said == "machine":
            self.ports.spawn(self._machine(run, call))
            return
        call.human = True
        self._arrived(run, call, after_greeting=status == "HUMAN")

    def _arrived(self, run: Run, call: DialerCall, *, after_greeting: bool) -> None:
        """A person is on the line: an agent now, or within the rest of their 2 s."""
        now = self.ports.clock()
        if call.deadline is None:
            # AMD said HUMAN `after_greeting_silence` after the greeting ended.
            spent = run.config.amd.params.after_greeting_silence / 1000 \
                if after_greeting else 0.0
            call.deadline = (call.verdict_at or now) + TWO_SECONDS - spent - MARGIN
        for _ in range(3):  # an agent taken a moment ago by another call: the next one
            agent = self._agent_for(run, call)
            if agent is None:
                break
            if self._join(run, call, agent):
                return
        run.waiting[call.call_id] = call
        call.waiting = asyncio.get_running_loop().call_later(
            max(0.0, call.deadline - now), self._give_up, run, call)
        self.kick()

    def _agent_for(self, run: Run, call: DialerCall) -> str | None:
        pool, lines = self.ports.pool, self.ports.lines
        if call.held and call.agent is not None:
            st = pool.status(call.agent)
            if st.state == "reserved" and st.call_id == call.call_id \
                    and lines.idle(call.agent) is not None:
                return call.agent
            pool.release(call.agent, call.call_id)  # their line went: anyone free will do
            call.held, call.agent = False, None
        best: str | None = None
        best_since = 0.0
        for agent in pool.free(campaign=run.name):
            if lines.idle(agent) is None:
                continue
            since = pool.status(agent).since
            if best is None or since < best_since:  # the longest free first
                best, best_since = agent, since
        return best

    def offer(self, agent: str) -> bool:
        """A free agent with an idle line: the person waiting longest for one of their
        campaigns is joined to them (True)."""
        pool = self.ports.pool
        if pool.state(agent) != "ready" or self.ports.lines.idle(agent) is None:
            return False
        campaigns = pool.campaigns.get(agent, frozenset())
        oldest: tuple[Run, DialerCall] | None = None
        for name in campaigns:
            run = self.runs.get(name)
            if run is None:
                continue
            for call in run.waiting.values():
                if oldest is None or (call.verdict_at or 0) < (oldest[1].verdict_at or 0):
                    oldest = (run, call)
                break  # dicts keep arrival order: the first is the oldest
        if oldest is None:
            return False
        run, call = oldest
        return self._join(run, call, agent)

    # --- joining the agent --------------------------------------------------------------

    def _join(self, run: Run, call: DialerCall, agent: str) -> bool:
        """Take the agent (and their line) for the person, at once; the Bridge follows.
        False when the agent or line is no longer free (they are left as they were)."""
        ports = self.ports
        now = ports.clock()
        if call.channel is None or call.call_id not in self.alive:
            return False
        line = ports.lines.take(agent, now)
        if line is None:
            return False
        if not ports.pool.connect(agent, call.call_id, owner_of(run.name)):
            ports.lines.parked(line, now)
            return False
        run.waiting.pop(call.call_id, None)
        if call.waiting is not None:
            call.waiting.cancel()
        call.agent, call.held = agent, False
        self.connected(call)  # the agent's commands (disposition) reach the dialer from now
        self._screenpop(run, call, agent, now)
        ports.spawn(self._bridge(run, call, agent, line))
        return True

    async def _bridge(self, run: Run, call: DialerCall, agent: str, line: str) -> None:
        ports = self.ports
        assert call.channel is not None
        try:
            await ports.ami.send(actions.bridge(call.channel, line))
        except AmiError as exc:
            self.log.warning("dialer.bridge_failed", call_id=call.call_id, agent=agent,
                             error=str(exc)[:200])
            ports.pool.release(agent, call.call_id)
            ports.lines.parked(line, ports.clock())
            self.unjoined(call.call_id)
            call.agent = None
            if call.call_id in self.alive:
                self.ports.spawn(self._safe_harbour(run, call))
            return
        at = ports.clock()
        call.connected_at = at
        run.calls.pop(call.call_id, None)
        base = call.answered_at if call.answered_at is not None else at
        call.dead_air_ms = round((at - base) * 1000)
        after_verdict = round((at - (call.verdict_at or at)) * 1000)
        m = self.measurements[run.name]
        m.live(at, abandoned=False)
        m.connected(at, call.dead_air_ms)
        call.outcome = "answered"
        ports.bus.publish(CallConnected(call.call_id, agent, line, at, campaign=run.name))
        ports.step(call.call_id, "dialer.connected", {
            "agent": agent, "line": line, "dead_air_ms": call.dead_air_ms,
            "after_verdict_ms": after_verdict}, at=at)
        ports.update(call.call_id, connected_at=at, agent=agent,
                     wait_s=round(at - base, 3))
        self._attempt(call, human=True, outcome="answered", dead_air_ms=call.dead_air_ms,
                      agent=agent)
        self.log.info("dialer.connected", campaign=run.name, call_id=call.call_id, agent=agent,
                      dead_air_ms=call.dead_air_ms)

    def _screenpop(self, run: Run, call: DialerCall, agent: str, now: float) -> None:
        topics = self.ports.topics
        if topics is None:
            return
        shown = run.config.screenpop
        lead = {k: v for k, v in call.lead.fields.items() if not shown or k in shown}
        lead = {"id": call.lead.id, "number": call.lead.number,
                "attempts": call.lead.attempts + 1, **lead}
        pop = call.pop or ScreenPop(
            call_id=call.call_id, agent=agent, queue="", callback=False, wait=0.0,
            caller_num=call.lead.number, customer=None, ivr={}, previous_interactions=[],
            open_tickets=[], ticket_history=[])
        pop = pop.model_copy(update={"agent": agent, "campaign": run.name, "lead": lead,
                                     "wait": round(now - (call.answered_at or now), 3)})
        self.ports.outbox(f"screenpop {call.call_id}", topics.agent_screenpop(agent),
                          pop.encode())

    async def _prepare_pop(self, run: Run, call: DialerCall) -> None:
        """The customer's history, read while the call rings (not in the 2 s)."""
        if self.ports.topics is None:
            return
        try:
            history = await self.ports.store.customer_history(call.lead.number)
        except Exception as exc:  # the pop goes out without history
            self.log.info("dialer.history_failed", call_id=call.call_id, error=str(exc)[:200])
            return
        call.pop = ScreenPop(call_id=call.call_id, agent="", queue="", callback=False,
                             wait=0.0, caller_num=call.lead.number, customer=None, ivr={},
                             **history)

    # --- nobody free: the safe harbour --------------------------------------------------

    def _give_up(self, run: Run, call: DialerCall) -> None:
        if run.waiting.pop(call.call_id, None) is None or call.call_id not in self.alive:
            return
        self.ports.spawn(self._safe_harbour(run, call))

    async def _safe_harbour(self, run: Run, call: DialerCall) -> None:
        ports = self.ports
        now = ports.clock()
        call.abandoned, call.outcome = True, "dropped"
        waited = round((now - (call.verdict_at or now)) * 1000)
        self.measurements[run.name].live(now, abandoned=True)
        ports.step(call.call_id, "dialer.abandoned", {"waited_ms": waited}, at=now)
        ports.data(call.call_id, {}, outcome="dropped", at=now)
        self._attempt(call, human=True, abandoned=True, outcome="dropped")
        self.log.warning("dialer.abandoned", campaign=run.name, call_id=call.call_id,
                         lead=call.lead.id, waited_ms=waited)
        assert call.channel is not None
        agi = ports.agi(call.channel)
        harbour = run.config.safe_harbour
        try:
            if harbour is not None:
                r = await agi.stream(harbour.prompt, harbour.opt_out_key, timeout=120)
                if r.result == str(ord(harbour.opt_out_key)):
                    self._opted_out(run, call)
            await agi.hangup()
        except AmiError as exc:  # they hung up while it played
            self.log.info("dialer.safe_harbour_cut", call_id=call.call_id, error=str(exc)[:200])

    def _opted_out(self, run: Run, call: DialerCall) -> None:
        now = self.ports.clock()
        call.outcome = "opted_out"
        self.ports.step(call.call_id, "dialer.opted_out", {"number": call.lead.number},
                        at=now)
        self.ports.data(call.call_id, {}, outcome="opted_out", at=now)
        self.log.info("dialer.opted_out", campaign=run.name, call_id=call.call_id,
                      lead=call.lead.id)
        self.ports.write(f"dnc {call.lead.number}", self.leads.dnc_add, [call.lead.number],
                         campaign="", source="opt_out", at=now,
                         note=f"{run.name} {call.call_id}")

    # --- an answering machine -----------------------------------------------------------

    async def _machine(self, run: Run, call: DialerCall) -> None:
        ports = self.ports
        now = ports.clock()
        call.outcome = "machine"
        amd = run.config.amd
        ports.data(call.call_id, {}, outcome="machine", at=now)
        assert call.channel is not None
        agi = ports.agi(call.channel)
        try:
            if amd.on_machine == "message" and amd.message:
                await agi.stream(amd.message, "", timeout=300)
                ports.step(call.call_id, "dialer.message_left", {"prompt": amd.message})
            await agi.hangup()
        except AmiError as exc:
            self.log.info("dialer.machine_hangup_failed", call_id=call.call_id,
                          error=str(exc)[:200])

    # --- the end ------------------------------------------------------------------------

    def _ended(self, ev: CallEnded) -> None:
        call = self.alive.pop(ev.call_id, None)
        if call is None:
            return
        run = self.runs.get(call.campaign)
        if run is None:
            return
        run.calls.pop(call.call_id, None)
        run.waiting.pop(call.call_id, None)
        if call.waiting is not None:
            call.waiting.cancel()
        if call.connected_at is not None:
            talk_s = round(ev.at - call.connected_at, 3)
            self.measurements[run.name].talked(talk_s)
            self._attempt(call, talk_s=talk_s)
            self.connected_ended(run, call, ev.at)
            self.kick()
            return
        if call.held and call.agent is not None:
            self.ports.pool.release(call.agent, call.call_id)
        outcome = call.outcome
        if not outcome:  # gone before anything was decided
            outcome = "hung_up"
            if call.human:  # a person left before an agent came: counted as abandoned
                self.measurements[run.name].live(ev.at, abandoned=True)
                self._attempt(call, outcome=outcome, human=True, abandoned=True)
            else:
                self._attempt(call, outcome=outcome)
            self.ports.data(call.call_id, {}, outcome=outcome, at=ev.at)
        elif outcome in ("machine", "opted_out"):
            self._attempt(call, outcome=outcome)
        self._save_lead(run, call.lead, outcome, attempts=call.lead.attempts + 1)
        self.kick()

    # --- the store ----------------------------------------------------------------------

    def _save_lead(self, run: Run, lead: LeadRow, outcome: str, *, attempts: int) -> None:
        now = self.ports.clock()
        u = after_attempt(run.config, outcome, attempts=attempts, tries=lead.tries, now=now)
        run.hopper.hold_back(lead.id)
        self.ports.write(f"lead {lead.id}", run.hopper.save, lead.id, now, state=u.state,
                         dial_rank=u.rank, next_at=u.next_at, tries=u.tries,
                         last_outcome=u.outcome)

    def _attempt(self, call: DialerCall, **values: Any) -> None:
        """Columns of the call's lead_attempts row."""
        self.ports.write(f"attempt {call.call_id}", self.leads.finish_attempt, call.call_id,
                         **values)
