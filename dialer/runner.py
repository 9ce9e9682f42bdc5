"""Running campaigns: every second (and at once when an agent frees up or a call settles)
each running campaign's hopper is topped up and the pacing (dialer/pacing.py) says how
many leads to dial; supervisors start, pause, stop them and change their mode.

A campaign stops itself, saying why, when the pacing says it cannot go on within its rules
or when the trunk refuses every call (`REFUSED_LIMIT` in a row, none getting through):
it does not spin.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import structlog

from core.ports import Ports
from dialer.calls import Calls
from dialer.figures import Measurements
from dialer.model import Mode
from dialer.pacing import Agent, Dial, InFlight, Pacer, Situation, Stop, Wait
from dialer.preview import Previews
from dialer.state import Run, Status, owner_of

TICK = 1.0
REFUSED_LIMIT = 10  # dials in a row the trunk refused (congestion, failure): stop
MIN_HOPPER = 20  # leads kept ready, at least; more with more agents
PER_AGENT = 5


class Runner:
    def __init__(self, runs: dict[str, Run], ports: Ports, calls: Calls, previews: Previews,
                 measurements: dict[str, Measurements], *,
                 on_status: Callable[[Run], None]) -> None:
        self.runs = runs
        self.ports = ports
        self.calls = calls
        self.previews = previews
        self.measurements = measurements
        self.on_status = on_status  # the status changed (lines, stats)
        self.pacer = Pacer()
        self._kick = asyncio.Event()
        self.log = structlog.get_logger("dialer")

    def kick(self) -> None:
        self._kick.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), TICK)
            self._kick.clear()
            for run in list(self.runs.values()):
                if run.status != "running":
                    continue
                try:
                    await self.tick(run)
                except Exception:  # one campaign's bug must not stop the others
                    self.log.exception("dialer.tick_failed", campaign=run.name)

    # --- one campaign, once -------------------------------------------------------------

    def members(self, run: Run) -> list[str]:
        pool = self.ports.pool
        return [a for a in pool if run.name in pool.campaigns.get(a, frozenset())]

    async def tick(self, run: Run) -> None:
        now = self.ports.clock()
        members = self.members(run)
        logged_in = [a for a in members if self.ports.pool.state(a) != "logged_out"]
        if len(run.hopper) < max(MIN_HOPPER, PER_AGENT * len(logged_in)) // 2:
            try:
                await run.hopper.refill(now, size=max(MIN_HOPPER, PER_AGENT * len(logged_in)),
                                        busy=run.busy_leads())
            except Exception as exc:  # the database is away: dial what the hopper has
                self.log.warning("dialer.refill_failed", campaign=run.name, error=str(exc)[:200])
        if run.status != "running":
            return
        if run.refused_in_row >= REFUSED_LIMIT:
            self.set_status(run, "stopped", f"the trunk refused the last {run.refused_in_row} "
                            "calls (congestion or failure, none answered, busy or unanswered): "
                            f"check the campaign's dial string {run.config.dial!r} and the trunk")
            return
        if run.mode == "preview":
            self._preview(run, logged_in, now)
            return
        decision = self.pacer.decide(self._situation(run, logged_in, now))
        if isinstance(decision, Wait):
            run.why = decision.why
            return
        if isinstance(decision, Stop):
            self.set_status(run, "stopped", decision.why)
            return
        self._dial(run, decision, now)

    def _situation(self, run: Run, agents: list[str], now: float) -> Situation:
        pool, lines = self.ports.pool, self.ports.lines
        view: list[Agent] = []
        for agent in agents:
            st = pool.status(agent)
            state = st.state
            if state == "ready" and lines.idle(agent) is None:
                state = "paused"  # no line to take a call on yet
            view.append(Agent(state, st.since))
        return Situation(
            now=now, mode=run.mode, agents=tuple(view),
            in_flight=tuple(InFlight(c.dialled_at, c.answered_at) for c in run.calls.values()
                            if not c.held),
            measured=self.measurements[run.name].measured(run.config, now),
            abandon_cap=run.config.abandon_cap, ratio=run.ratio,
            max_dial_level=run.config.max_dial_level, scale=run.scale, scale_at=run.scale_at)

    def _dial(self, run: Run, d: Dial, now: float) -> None:
        if d.scale_at is not None:
            run.scale, run.scale_at = d.scale, d.scale_at
        run.last_dial = d.why
        run.why = d.why
        free = iter(self._free(run) if d.holds_agents else [])
        for _ in range(d.count):
            lead = run.hopper.pop(now)
            if lead is None:
                run.why = "no lead to dial now: all called, waiting for retries, or outside " \
                          "their calling hours"
                break
            call_id = uuid.uuid4().hex[:16]
            agent: str | None = None
            if d.holds_agents:  # the lead first: an agent is held only for a real dial
                agent = next((a for a in free
                              if self.ports.pool.reserve(a, call_id, owner_of(run.name))), None)
                if agent is None:
                    run.hopper.push(lead)
                    break
            self.ports.spawn(self.calls.dial(run, lead, agent, call_id))

    def _free(self, run: Run) -> list[str]:
        """The campaign's free agents with their line up, the longest free first."""
        pool, lines = self.ports.pool, self.ports.lines
        free = [a for a in pool.free(campaign=run.name) if lines.idle(a) is not None]
        return sorted(free, key=lambda a: pool.status(a).since)

    def _preview(self, run: Run, logged_in: list[str], now: float) -> None:
        if not logged_in:
            run.why = "no agent is logged in to the campaign"
            return
        for agent in self._free(run):
            if not self.previews.offer(run, agent, now) and agent not in run.offers:
                run.why = "no lead to offer now"
                return
        run.why = f"preview: {len(run.offers)} lead(s) on offer"

    # --- supervisors ----------------------------------------------------------------------

    def set_status(self, run: Run, status: Status, why: str) -> None:
        before = run.status
        run.status, run.why = status, why
        if status != "running":
            self.previews.withdraw_all(run)
        if status == "stopped":
            run.hopper.clear()
        log = self.log.warning if status == "stopped" and before == "running" and why else \
            self.log.info
        log("dialer.campaign_" + status, campaign=run.name, why=why, was=before)
        self.on_status(run)
        self.kick()

    def set_mode(self, run: Run, mode: Mode, ratio: float | None) -> str | None:
        c = run.config
        if mode == "power" and ratio is None and run.ratio is None:
            return "power mode needs ratio (lines per free agent, e.g. 1.5)"
        if mode != "power" and ratio is not None:
            return f"ratio only applies to power mode (not {mode})"
        if mode in ("power", "predictive") and c.safe_harbour is None:
            return (f"{mode} dialing may drop answered calls: the campaign needs a "
                    "safe_harbour in campaigns.yaml first")
        if run.mode == "preview" and mode != "preview":
            self.previews.withdraw_all(run)
        was = (run.mode, run.ratio)
        run.mode = mode
        run.ratio = ratio if mode == "power" else None
        if mode == "power" and ratio is None:
            run.ratio = was[1] or c.ratio
        self.log.info("dialer.mode_changed", campaign=run.name, mode=mode, ratio=run.ratio,
                      was=was[0])
        self.on_status(run)
        self.kick()
        return None
