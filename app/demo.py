"""`centralita demo`: the engine against the simulated PBX with synthetic callers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from app.engine import Engine
from asterisk import dialplan as dp
from core import commands as c
from core.dispositions import Dispositions
from core.events import CallConnected
from core.settings import Settings
from sim.dialplan import load_dialplan, load_manager_conf
from sim.endpoints import Endpoint
from sim.pbx import Clock, Pbx
from sim.server import AmiServer
from sim.traffic import CallerTraffic, CustomerNetwork
from web.auth import hash_secret
from web.logins import secret_of, store_secret

ETC = Path(__file__).resolve().parent.parent / "asterisk" / "etc"


class Desks:
    """Synthetic agents at their desktops: a disposition for every call (notes where the
    code needs them), now and then a transfer or a consultation, and calls to colleagues.
    What they do is printed to the live output."""

    def __init__(self, engine: Engine, pbx: Pbx, out: TextIO, *, seed: int = 7) -> None:
        import random

        self.engine, self.pbx, self.out = engine, pbx, out
        self.rng = random.Random(seed)
        acd = engine.center.acd
        self.queues = dict(acd.queues) if acd is not None else {}
        #: the queue of each call the desks connected to (its dispositions apply)
        self.call_queue: dict[str, str] = {}
        campaigns = engine.center.campaigns
        self.campaigns = dict(campaigns.campaigns) if campaigns is not None else {}
        self.call_campaign: dict[str, str] = {}
        self.disposed: set[str] = set()
        self.acted: set[str] = set()  # calls a desk already transferred or consulted on
        self.counts = {"dispositions": 0, "transfers": 0, "consults": 0, "internal": 0}
        self.tasks: set[asyncio.Task[None]] = set()
        engine.bus.subscribe(CallConnected, self._connected)

    def say(self, text: str) -> None:
        self.out.write(f"{time.strftime('%H:%M:%S')}    {text}\n")
        self.out.flush()

    def _dispositions(self, call_id: str) -> Dispositions | None:
        campaign = self.campaigns.get(self.call_campaign.get(call_id, ""))
        if campaign is not None:
            return campaign.dispositions
        queue = self.queues.get(self.call_queue.get(call_id, ""))
        return queue.dispositions if queue is not None else None

    def _connected(self, ev: CallConnected) -> None:
        if ev.campaign:
            self.call_campaign[ev.call_id] = ev.campaign
            self.say(f"campaign {ev.campaign}: a person answered, put through to agent "
                     f"{ev.agent_id} (call {ev.call_id[:8]})")
            return
        if ev.queue:
            self.call_queue[ev.call_id] = ev.queue
        if not ev.queue or ev.call_id in self.acted:
            return
        self.acted.add(ev.call_id)
        roll = self.rng.random()
        if roll < 0.12:
            task = asyncio.ensure_future(self._transfer(ev))
        elif roll < 0.2:
            task = asyncio.ensure_future(self._consult(ev))
        else:
            return
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _transfer(self, ev: CallConnected) -> None:
        await asyncio.sleep(self.rng.uniform(3, 8))
        others = [q for q in self.queues if q != ev.queue]
        if not others:
            return
        target = f"queue:{self.rng.choice(others)}"
        if self.send(ev.agent_id, c.Transfer(action="transfer", target=target)) is None:
            self.counts["transfers"] += 1
            self.say(f"agent {ev.agent_id} transfers call {ev.call_id[:8]} to {target}")

    async def _consult(self, ev: CallConnected) -> None:
        await asyncio.sleep(self.rng.uniform(3, 8))
        free = [a for a in self.engine.pool.free() if a != ev.agent_id
                and self.engine.directory[a].role == "agent"]
        if not free:
            return
        colleague = self.rng.choice(free)
        if self.send(ev.agent_id, c.Consult(action="consult", target=colleague)) is not None:
            return
        self.counts["consults"] += 1
        self.say(f"agent {ev.agent_id} puts call {ev.call_id[:8]} on hold to ask {colleague}")
        await asyncio.sleep(self.rng.uniform(4, 8))
        how, step = self.rng.choice([("complete", c.ConsultComplete(action="consult_complete")),
                                     ("cancel", c.ConsultCancel(action="consult_cancel")),
                                     ("conference", c.Conference(action="conference"))])
        if self.send(ev.agent_id, step) is None:
            self.say(f"agent {ev.agent_id}: consultation with {colleague} -> {how}")

    def send(self, agent_id: str, command: c.Command) -> str | None:
        """What an agent's desktop sends (the same path as MQTT commands)."""
        return self.engine.commands.dispatch(agent_id, command)

    async def run(self) -> None:
        pool = self.engine.pool
        next_internal = time.monotonic() + 15
        while True:
            await asyncio.sleep(0.5)
            for agent_id in pool:
                st = pool.status(agent_id)
                if st.state != "wrapup" or not st.call_id or st.call_id in self.disposed:
                    continue
                self.disposed.add(st.call_id)
                d = self._dispositions(st.call_id)
                if d is None or self.rng.random() < 0.1:
                    continue  # forgotten: the queue's default, flagged
                code = self.rng.choice(sorted(d.codes))
                notes = "Customer satisfied." if d.codes[code].notes == "required" else ""
                if d.codes[code].ticket == "requires_follow_up":
                    continue  # the demo does not schedule follow-ups
                if self.send(agent_id, c.Disposition(action="disposition", code=code,
                                                     notes=notes)) is None:
                    self.counts["dispositions"] += 1
                    self.say(f"agent {agent_id} closes call {st.call_id[:8]} as {code}")
            if time.monotonic() >= next_internal:
                next_internal = time.monotonic() + self.rng.uniform(20, 40)
                self._internal_call()

    def _internal_call(self) -> None:
        directory = self.engine.directory
        ready = [directory[a] for a in self.engine.pool.free()
                 if directory[a].extension and directory[a].role == "agent"]
        if len(ready) < 2:
            return
        caller, callee = self.rng.sample(ready, 2)
        self.pbx.incoming_call(trunk=caller.device.split("/", 1)[1], context=dp.AGENTS,
                               dnis=callee.extension or callee.id,
                               caller_num=caller.extension or caller.id,
                               endpoint=Endpoint(talk_time=self.rng.uniform(8, 20)))
        self.counts["internal"] += 1
        self.say(f"agent {caller.id} calls colleague {callee.id} (extension {callee.extension})")


def _calendar(settings: Settings) -> Callable[[], datetime] | None:
    if not settings.demo.calendar:
        return None
    origin = datetime.fromisoformat(settings.demo.calendar)
    started = time.monotonic()
    speed = settings.demo.speed
    return lambda: (origin + timedelta(seconds=(time.monotonic() - started) * speed)).astimezone(UTC)


async def demo_leads(engine: Engine, per_campaign: int = 3000, seed: int = 5) -> None:
    """Campaigns with no leads get synthetic ones (Spanish mobiles, as a list would have)."""
    import random

    from dialer.leads import ParsedLead
    from dialer.numbers import callee
    from dialer.store import LeadStore

    assert engine.dialer is not None
    await engine.store.migrate()
    leads = LeadStore(engine.store)
    rng = random.Random(seed)
    plans = ["fibre 300", "fibre 600", "mobile 20GB", "mobile unlimited", "bundle"]
    for name in engine.dialer.runs:
        if sum((await leads.leads_by_state(name)).values()):
            continue
        rows = []
        for i in range(per_campaign):
            who = callee(f"+346{rng.randrange(10**7, 10**8)}", region="ES")
            rows.append(ParsedLead(i + 2, who.number, who.zone_key, rng.randint(0, 3), {
                "name": f"Customer {i + 1}", "account": f"AC{100000 + i}",
                "plan": rng.choice(plans), "renews_on": f"2027-0{rng.randint(1, 9)}-15"}))
        result = await leads.import_leads(name, "demo", rows, update_existing=False,
                                          at=time.time())
        engine.log.info("demo.leads_imported", campaign=name, count=result.new)


async def run_demo(settings: Settings, *, duration: float | None, out: TextIO = sys.stdout,
                   calls: int | None = None) -> Engine:
    manager = load_manager_conf(ETC / "manager.conf")
    pbx = Pbx(load_dialplan(ETC / "extensions.conf"), clock=Clock(settings.demo.speed))
    server = AmiServer(pbx, manager.users)
    port = await server.start()
    user, secret = next(iter(manager.users.items()))
    files = settings.path(settings.demo.files)
    assert files is not None
    recordings = files.resolve() / "recordings"  # the simulated Asterisk writes here
    pbx.monitor_dir = str(recordings)
    settings = settings.model_copy(update={
        "ami": settings.ami.model_copy(update={"url": f"ami://{user}:{secret}@127.0.0.1:{port}"}),
        "recording": settings.recording.model_copy(update={"directory": str(recordings)})})
    engine = Engine(settings, calendar=_calendar(settings))
    if engine.center.ivr is not None:
        pbx.prompts.update(engine.center.ivr.prompts)  # the admin's recordings exist here
    if engine.acd is not None:  # the agents' phones: answer after a few rings, talk a while
        for agent in engine.directory:
            # Agents of a campaign keep their line up: their phone never hangs up by itself.
            outbound = bool(engine.pool.campaigns.get(agent.id))
            pbx.endpoints[agent.device.split("/", 1)[1]] = Endpoint(
                answer_after=2.0 + len(agent.id) % 3, talk_time=None if outbound else 45.0,
                random_talk=True)
    if engine.dialer is not None:
        pbx.network = CustomerNetwork()  # the people the campaigns call
        pbx.prompts.update(engine.center.campaigns.prompts if engine.center.campaigns else {})
        await demo_leads(engine)
    traffic = CallerTraffic(pbx, per_minute=settings.demo.callers_per_minute,
                            ivr=engine.ivr is not None)
    out.write(f"centralita demo: simulated PBX on 127.0.0.1:{port}, "
              f"{settings.demo.callers_per_minute:g} callers/min, database "
              f"{settings.database.url}, MQTT {settings.mqtt.safe_url} "
              f"(topics {settings.mqtt.prefix}calls/+/events). Ctrl-C stops.\n")
    out.flush()
    engine_task = asyncio.ensure_future(engine.run(install_signals=False))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, engine.stop.set)
    with contextlib.suppress(NotImplementedError, RuntimeError):  # as under `run`
        loop.add_signal_handler(signal.SIGHUP, engine.reload)
    await engine.ami.wait_ready(30)
    traffic_task = asyncio.ensure_future(traffic.run(limit=calls))
    await _announce_web(engine, settings, out)
    desks = Desks(engine, pbx, out) if engine.acd is not None else None
    desks_task = asyncio.ensure_future(desks.run()) if desks is not None else None
    started = time.monotonic()
    last_events, last_t = 0, started
    try:
        while not engine.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(engine.stop.wait(), settings.demo.status_every)
            now = time.monotonic()
            seen = engine.registry.events_seen
            rate = (seen - last_events) / max(1e-6, now - last_t)
            last_events, last_t = seen, now
            agents = ""
            if engine.acd is not None:
                pool = engine.pool
                agents = (f" | queued {engine.acd.waiting():3d} | agents ready "
                          f"{pool.count('ready')} reserved {pool.count('reserved')} "
                          f"on_call {pool.count('on_call')} wrapup {pool.count('wrapup')} "
                          f"paused {pool.count('paused')}")  # the states' own names
            if desks is not None:
                c = desks.counts
                agents += (f" | closed {c['dispositions']} transfers {c['transfers']} "
                           f"consults {c['consults']} internal {c['internal']}")
            if engine.dialer is not None:
                for name in engine.dialer.runs:
                    s = engine.dialer.stats(name)
                    agents += (f" | {name}: {s.status} {s.mode}, dialling {s.in_flight}, "
                               f"hopper {s.hopper}, {s.contacts_per_hour:.0f} contacts/h, "
                               f"abandoned {s.abandon_pct_today:.1f} %")
            out.write(
                f"{time.strftime('%H:%M:%S')}  calls in progress {len(engine.registry.calls):3d}"
                f" | arrived {traffic.sent:5d} | AMI events/s {rate:7.1f}"
                f" | rows written {engine.journal.written:6d}"
                f" | MQTT published {engine.publisher.published:6d}"
                f" ({'up' if engine.publisher.connected else 'DOWN, queued in outbox'})"
                f"{agents}\n")
            out.flush()
            if duration is not None and now - started >= duration:
                break
            if calls is not None and traffic.sent >= calls and not engine.registry.calls:
                break
    finally:
        traffic_task.cancel()
        if desks_task is not None:
            desks_task.cancel()
        engine.stop.set()
        with contextlib.suppress(BaseException):
            await engine_task
        await server.close()
        await pbx.shutdown()
    return engine


async def _announce_web(engine: Engine, settings: Settings, out: TextIO) -> None:
    """Print the wallboard's address and how to log in; a supervisor without a password
    gets one made up for the demo (printed once: `centralita passwd` changes it)."""
    for _ in range(50):
        if engine.web is None or engine.web.url:
            break
        await asyncio.sleep(0.1)
    if engine.web is None or not engine.web.url:
        return
    supervisor = next((a for a in engine.directory if a.role == "supervisor"), None)
    if supervisor is None:
        out.write(f"wallboard: {engine.web.url} (no supervisor in agents.yaml to log in)\n")
        return
    if await secret_of(engine.store, supervisor.id) is None:
        secret = secrets.token_urlsafe(9)
        await store_secret(engine.store, supervisor.id, hash_secret(secret))
        how = f"password {secret} (made for this demo; change it: centralita passwd {supervisor.id})"
    else:
        how = f"the password set with centralita passwd {supervisor.id}"
    out.write(f"wallboard: {engine.web.url} log in as {supervisor.id} ({supervisor.name}) "
              f"with {how}\n")
    out.flush()
