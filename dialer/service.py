"""The dialer: outbound campaigns on the agent pool the ACD shares.

This module builds the dialer's parts around the campaigns' runs and one set of ports and
connects them to the kernel: pool changes and claims (blended agents), kept lines,
commands from agents (preview, hang-up, dispositions) and supervisors
(`campaigns/{name}/commands`), and the retained `campaigns/{name}/stats`. The parts:
keeper (agents' kept lines), calls (dial, AMD, join, safe harbour), wrapups (after-call),
previews, runner (pacing and campaign control), figures (measurements).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from asterisk.client import AmiClient
from core import commands as c
from core.blend import OUTBOUND, BlendRule
from core.bus import Bus
from core.errors import ConfigError
from core.lines import AgentLines
from core.payloads import AbandonDay, CampaignStats
from core.people import Directory
from core.pool import AgentChanged, AgentPool
from core.ports import Ports
from core.records import AfterCallRecords
from core.registry import Registry
from core.store import Journal, Store
from core.tasks import Tasks
from core.topics import Topics
from dialer.calls import Calls
from dialer.figures import WINDOW_DAYS, Measurements, Occupancy
from dialer.hopper import Hopper
from dialer.keeper import LineKeeper
from dialer.model import Campaign, CampaignsConfig
from dialer.preview import Previews
from dialer.runner import Runner
from dialer.state import Run, Status
from dialer.store import LeadStore
from dialer.wrapup import Wrapups

LEADS_EVERY = 30.0  # seconds between counts of leads by state (a GROUP BY)


def blend_rules(config: CampaignsConfig, members: dict[str, frozenset[str]]
                ) -> dict[str, BlendRule]:
    """Each blended agent's outbound share: the largest their campaigns ask for."""
    out: dict[str, BlendRule] = {}
    for agent, campaigns in members.items():
        shares = [config.campaigns[n].blend.outbound_share for n in campaigns
                  if config.campaigns[n].blend.outbound_share is not None]
        if shares:
            out[agent] = BlendRule(max(s for s in shares if s is not None))
    return out


class DialerService:
    def __init__(self, *, bus: Bus, ami: AmiClient, store: Store, journal: Journal,
                 registry: Registry, pool: AgentPool, directory: Directory,
                 config: CampaignsConfig, topics: Topics | None,
                 live: Callable[[str, str], None] | None, lines: AgentLines | None = None,
                 reload: Callable[[], CampaignsConfig] | None = None,
                 stats_every: float = 2.0, clock: Callable[[], float] = time.time,
                 calendar: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.directory = directory
        self.reload_config = reload
        self.stats_every = stats_every
        self.tasks = Tasks(structlog.get_logger("dialer"), "dialer.task_failed")
        self.ports = ports = Ports(ami=ami, bus=bus, store=store, journal=journal,
                                   registry=registry, pool=pool, tasks=self.tasks, clock=clock,
                                   topics=topics, live=live, lines=lines)
        self.leads = LeadStore(store)
        self.calendar = calendar  # what calling hours are read against (None: real time)
        self.runs: dict[str, Run] = {
            name: Run.of(name, camp, self._hopper(name, camp))
            for name, camp in config.campaigns.items()}
        self.measurements = {name: Measurements() for name in self.runs}
        self.occupancy = Occupancy()
        self.wrapups = Wrapups(self.runs, ports, self.leads, AfterCallRecords(store),
                               self.measurements)
        self.calls = Calls(self.runs, ports, self.leads, self.measurements, kick=self._kick,
                           connected=self.wrapups.connected, unjoined=self.wrapups.forget,
                           connected_ended=self.wrapups.call_ended)
        self.previews = Previews(self.runs, ports, self.leads, self.calls.dial)
        self.runner = Runner(self.runs, ports, self.calls, self.previews, self.measurements,
                             on_status=self._status_changed)
        self.keeper = LineKeeper(ports, directory, wanted=self._wants_line,
                                 music=self._music, on_idle=self._line_idle)
        self._leads_by_state: dict[str, dict[str, int]] = {}
        self._dirty: set[str] = set(self.runs)
        self.log = structlog.get_logger("dialer")
        pool.listen(self._agent_changed)
        pool.claimant(OUTBOUND, self._claim)

    def _hopper(self, name: str, camp: Campaign) -> Hopper:
        return Hopper(self.leads, name, camp, calendar=self.calendar)

    def register(self, commands: c.Commands) -> None:
        """The commands the dialer answers: agents' on its calls, supervisors' on campaigns."""
        commands.register(c.AcceptLead, lambda agent, cmd: self.previews.accept(agent, cmd.lead))
        commands.register(c.SkipLead, lambda agent, cmd: self.previews.skip(agent, cmd.lead))
        commands.register(c.HangUp, lambda agent, _cmd: self.keeper.hang_up(agent))
        owns = self.wrapups.owns
        commands.register(c.Disposition, lambda agent, cmd: self.wrapups.disposition(
            agent, cmd.code, cmd.notes, ticket=cmd.ticket, follow_up_at=cmd.follow_up_at,
            follow_up_to=cmd.follow_up_to), when=owns)
        commands.register(c.UpdateCustomer, lambda agent, cmd: self.wrapups.update_customer(
            agent, cmd.fields), when=owns)
        commands.register(c.StartCampaign, lambda name, _cmd: self.control(name, "running"))
        commands.register(c.PauseCampaign, lambda name, _cmd: self.control(name, "paused"))
        commands.register(c.StopCampaign, lambda name, _cmd: self.control(name, "stopped"))
        commands.register(c.SetMode, lambda name, cmd: self._set_mode(name, cmd))
        commands.register(c.ReloadCampaigns, lambda _name, _cmd: self.reload())

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.ports.spawn(self._start())

    async def _start(self) -> None:
        now = self.ports.clock()
        for run in self.runs.values():
            try:
                released = await self.leads.release_dialing(run.name, now)
                history = await self.leads.history(run.name, now - WINDOW_DAYS * 86400)
                by_day = await self.leads.abandons_by_day(run.name, WINDOW_DAYS, now)
            except Exception as exc:  # the store is away: start without history
                self.log.warning("dialer.history_failed", campaign=run.name,
                                 error=str(exc)[:200])
                released, history, by_day = 0, [], []
            self.measurements[run.name].seed(history, by_day)
            if released:
                self.log.info("dialer.leads_released", campaign=run.name, count=released)
            if run.config.autostart:
                self.runner.set_status(run, "running", "started with the engine")
        self.ports.spawn(self.runner.run())
        if self.ports.live is not None and self.ports.topics is not None:
            self.ports.spawn(self._publish_stats())

    # --- agents ---------------------------------------------------------------------------

    def _agent_changed(self, change: AgentChanged) -> None:
        self.occupancy.changed(change.agent_id, change.after.state, change.after.since)
        self.keeper.agent_changed(change)
        self.wrapups.agent_changed(change)
        for name in self.ports.pool.campaigns.get(change.agent_id, frozenset()):
            self._dirty.add(name)
        if change.after.state == "ready":
            self._kick()

    def _claim(self, agent: str) -> bool:
        """A free agent: a person waiting their 2 s for one of the agent's campaigns gets
        them at once; otherwise the pacing looks again."""
        if self.calls.offer(agent):
            return True
        self._kick()
        return False

    def _line_idle(self, agent: str) -> None:
        if self.ports.pool.state(agent) == "ready":
            self.calls.offer(agent)
        self._kick()

    def _wants_line(self, agent: str) -> bool:
        return any(self.runs[n].status != "stopped"
                   for n in self.ports.pool.campaigns.get(agent, frozenset()) if n in self.runs)

    def _music(self, agent: str) -> bool:
        return any(self.runs[n].config.between_calls == "music"
                   for n in self.ports.pool.campaigns.get(agent, frozenset()) if n in self.runs)

    def _kick(self) -> None:
        self.runner.kick()

    # --- supervisors ----------------------------------------------------------------------

    def control(self, name: str, status: Status) -> str | None:
        run = self.runs.get(name)
        if run is None:
            return f"unknown campaign {name!r} (campaigns.yaml has {sorted(self.runs)})"
        if run.status == status:
            return f"campaign {name} is {status} already"
        self.runner.set_status(run, status, {"running": "started", "paused": "paused",
                                             "stopped": "stopped"}[status] + " by a supervisor")
        return None

    def _set_mode(self, name: str, cmd: c.SetMode) -> str | None:
        run = self.runs.get(name)
        if run is None:
            return f"unknown campaign {name!r} (campaigns.yaml has {sorted(self.runs)})"
        return self.runner.set_mode(run, cmd.mode, cmd.ratio)

    def reload(self) -> str | None:
        """campaigns.yaml again: changed campaigns take their new rules, new ones are
        added (stopped unless autostart), removed ones stop. A broken file changes nothing."""
        if self.reload_config is None:
            return "campaigns are not loaded from a file"
        try:
            config = self.reload_config()
        except ConfigError as exc:
            self.log.warning("dialer.reload_refused", problems=exc.problems[:10])
            return "; ".join(exc.problems[:5])
        self.config = config
        self.set_members(config.members_of(self.directory))
        for name, camp in config.campaigns.items():
            run = self.runs.get(name)
            if run is None:
                run = self.runs[name] = Run.of(name, camp, self._hopper(name, camp))
                self.measurements[name] = Measurements()
                if camp.autostart:
                    self.runner.set_status(run, "running", "added by a reload")
            else:
                run.config = camp
                run.hopper.config = camp
                run.mode, run.ratio = camp.mode, camp.ratio
            self._dirty.add(name)
        for name, run in self.runs.items():
            if name not in config.campaigns and run.status != "stopped":
                self.runner.set_status(run, "stopped", "removed from campaigns.yaml")
        self.log.info("dialer.reloaded", campaigns=sorted(config.campaigns))
        return None

    def set_members(self, members: dict[str, frozenset[str]]) -> None:
        self.ports.pool.campaigns.update(members)
        self.ports.pool.blend.update(blend_rules(self.config, members))

    def _status_changed(self, run: Run) -> None:
        self._dirty.add(run.name)
        if run.status == "stopped":
            self.keeper.close_unwanted()
        else:
            self.keeper.ensure_all()

    # --- figures --------------------------------------------------------------------------

    def stats(self, name: str) -> CampaignStats:
        run = self.runs[name]
        now = self.ports.clock()
        pool = self.ports.pool
        members = self.runner.members(run)
        agents: dict[str, int] = {}
        for agent in members:
            state = pool.state(agent)
            agents[state] = agents.get(state, 0) + 1
        m = self.measurements[name]
        humans, abandoned = m.abandon(now)
        today_h, today_a = m.abandon(now, days=1)
        measured = m.measured(run.config, now)
        ready = max(1, agents.get("ready", 0))
        return CampaignStats(
            campaign=name, at=round(now, 3), status=run.status, why=run.why, mode=run.mode,
            ratio=run.ratio, dial_level=round(len(run.calls) / ready, 2),
            in_flight=len(run.calls), hopper=len(run.hopper),
            leads=self._leads_by_state.get(name, {}), agents=agents,
            contacts_per_hour=float(m.contacts_last_hour(now)),
            occupancy=round(self.occupancy.of(members, now), 4),
            answer_rate=round(measured.answer_rate, 4),
            machine_rate=round(1.0 - measured.human_rate, 4),
            abandon_pct_today=round(100.0 * today_a / today_h, 2) if today_h else 0.0,
            abandon_pct_30d=round(100.0 * abandoned / humans, 2) if humans else 0.0,
            abandon_cap=run.config.abandon_cap,
            abandon_days=[AbandonDay(day=d, humans=h, abandoned=a,
                                     pct=round(100.0 * a / h, 2) if h else 0.0)
                          for d, h, a in m.by_day(now)],
            dead_air_ms=m.dead_air_median(now))

    async def _publish_stats(self) -> None:
        live, topics = self.ports.live, self.ports.topics
        assert live is not None and topics is not None
        counted = 0.0
        while True:
            now = self.ports.clock()
            if now - counted >= LEADS_EVERY:
                counted = now
                for name in list(self.runs):
                    with contextlib.suppress(Exception):  # the last counts stay shown
                        self._leads_by_state[name] = await self.leads.leads_by_state(name)
                self._dirty.update(self.runs)
            for name in list(self.runs):
                if name in self._dirty or self.runs[name].status == "running":
                    self._dirty.discard(name)
                    live(topics.campaign_stats(name), self.stats(name).encode())
            await asyncio.sleep(self.stats_every)
