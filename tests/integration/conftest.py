"""Fixtures the integration tests share: a real MQTT subscriber, and an engine with the
ACD (IVR, queues, agents) on the simulated PBX, driven through what the engine shows and
takes: AMI actions the PBX received, rows, MQTT messages, the agent pool and commands."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlalchemy import select

from app.engine import Engine
from core.agentstate import AgentStatus
from core.commands import parse
from core.events import CallRouted
from core.models import AgentStateChange, Interaction
from core.settings import (
    AcdSettings,
    AmiSettings,
    DatabaseSettings,
    DialerSettings,
    IvrSettings,
    MqttSettings,
    Settings,
)
from core.store import Store
from sim.endpoints import Endpoint, agent_phone, caller
from sim.pbx import Channel, Pbx
from sim.server import AmiServer
from tests.conftest import ROOT

Sim = tuple[Pbx, AmiServer]


class Subscriber:
    """A real MQTT subscriber collecting every message under a prefix."""

    def __init__(self, mqtt_url: str, prefix: str, *, user: str | None = None,
                 password: str | None = None, topic: str = "#") -> None:
        host, port = mqtt_url.removeprefix("mqtt://").split(":")
        self.host, self.port, self.prefix = host, int(port), prefix
        self.user, self.password, self.topic = user, password, topic
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, username=self.user,
                                  password=self.password) as client:
            await client.subscribe(f"{self.prefix}{self.topic}", qos=1)
            self.ready.set()
            async for msg in client.messages:
                assert isinstance(msg.payload, bytes)
                try:
                    body = json.loads(msg.payload)
                except ValueError:
                    body = {"raw": msg.payload.decode("utf-8", "replace")}
                self.messages.append((str(msg.topic), body))

    async def __aenter__(self) -> Subscriber:
        self.task = asyncio.ensure_future(self._run())
        await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()


def send(engine: Engine, sender: str, action: str, **fields: Any) -> str | None:
    """What an agent's desktop sends, through the engine's command table (as MQTT's)."""
    return engine.commands.dispatch(sender, parse("agents", {"action": action, **fields}))


IVR = """\
default_menu: main
nodes:
  main:
    type: menu
    prompts: [hello-world]
    options:
      "1": {queue: support, skills: {support: 2}}
    timeout: 3
    retries: 0
    fallback: {queue: support}
"""
QUEUES = """\
queues:
  support:
    skills: {support: 1}
    ring_timeout: 2
    wrapup: 1
"""
AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, extension: "1001", skills: {support: 5},
     queues: {support: 0}, login: true, max_no_answer: 2}
  - {id: "1002", device: PJSIP/agent1002, extension: "1002", skills: {support: 5},
     queues: {support: 0}, login: true, max_no_answer: 2}
"""

#: two tiers with dispositions, callbacks and an escalation path (after-call work)
TIER_QUEUES = """\
hours: {timezone: UTC, weekly: {mon: ["00:00-23:59"], tue: ["00:00-23:59"],
        wed: ["00:00-23:59"], thu: ["00:00-23:59"], fri: ["00:00-23:59"],
        sat: ["00:00-23:59"], sun: ["00:00-23:59"]}}
notes_max: 200
queues:
  support:
    skills: {support: 1}
    ring_timeout: 5
    wrapup: 2
    escalate_to: tier2
    announcements: {entry: null, position_every: null}
    callback: {ring_timeout: 5, attempts: 2, retry_after: 1}
    dispositions:
      default: general/other
      codes:
        general/other: {}
        support/resolved: {ticket: resolved,
                           template: "Helped {customer_name} ({number}) on {date}. Ref {reference}."}
        support/follow_up: {ticket: requires_follow_up, notes: required}
        support/complaint: {ticket: open, notes: required}
  tier2:
    tier: 2
    ring_timeout: 5
    wrapup: 1
    announcements: {entry: null, position_every: null}
"""


class Rig:
    def __init__(self, pbx: Pbx, server: AmiServer, engine: Engine, db: str) -> None:
        self.pbx, self.server, self.engine, self.db = pbx, server, engine, db
        self.routed: list[CallRouted] = []
        engine.bus.subscribe(CallRouted, self.routed.append)

    def call(self, number: str = "+34911000000", patience: float = 120.0) -> Channel:
        return self.pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                                      caller_num=number,
                                      endpoint=caller(((0.3, "1"),), patience=patience,
                                                      reactive=True))

    # --- what the engine shows, and commands as agents send them ------------------------

    def state(self, agent: str) -> str:
        return self.engine.pool.state(agent)

    def status(self, agent: str) -> AgentStatus:
        return self.engine.pool.status(agent)

    def statuses(self) -> list[AgentStatus]:
        return [self.engine.pool.status(a) for a in self.engine.pool]

    def send(self, sender: str, action: str, **fields: Any) -> str | None:
        return send(self.engine, sender, action, **fields)

    def waiting(self) -> int:
        """Callers (and kept callback places) waiting in the ACD's queues."""
        assert self.engine.acd is not None
        return self.engine.acd.waiting()

    def call_id(self, ch: Channel) -> str:
        call = self.engine.registry.call_of(ch.name)
        assert call is not None
        return call.call_id

    def originates(self) -> list[str]:
        return [m.get("Channel") for m in self.server.received if m.get("Action") == "Originate"]

    def agi(self, ch: Channel) -> list[str]:
        return [m.get("Command") for m in self.server.received
                if m.get("Action") == "AGI" and m.get("Channel") == ch.name]

    async def states(self, agent: str) -> list[str]:
        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            async with store.session() as s:
                rows = await s.scalars(select(AgentStateChange.state)
                                       .where(AgentStateChange.agent_id == agent)
                                       .order_by(AgentStateChange.id))
                return list(rows)
        finally:
            await store.close()

    async def interaction(self, ch: Channel) -> Any:
        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            async with store.session() as s:
                return await s.scalar(select(Interaction).where(Interaction.channel == ch.name))
        finally:
            await store.close()


@pytest.fixture
async def acd(sim: Sim, tmp_path: Path, mqtt_url: str, database_url: str,
              run_engine: Callable[..., Any]) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    pbx, server = sim

    async def make(phones: dict[str, Endpoint], prefix: str = "acd/", queues: str = QUEUES,
                   agents: str = AGENTS, stats_every: float = 2.0, **sections: Any) -> Rig:
        """`sections`: more settings (reports=ReportSettings(...), http=HttpSettings(...))."""
        for name, text in (("ivr.yaml", IVR), ("queues.yaml", queues), ("agents.yaml", agents)):
            (tmp_path / name).write_text(text)
        db = database_url  # SQLite, and PostgreSQL when it is there
        mqtt = sections.pop("mqtt", None) or MqttSettings(url=mqtt_url, prefix=prefix,
                                                           client_id=uuid.uuid4().hex[:8])
        settings = Settings(
            ami=AmiSettings(url=f"ami://centralita:centralita-secret@127.0.0.1:{server.port}"),
            database=DatabaseSettings(url=db),
            mqtt=mqtt,
            ivr=IvrSettings(file=str(tmp_path / "ivr.yaml")),
            acd=AcdSettings(queues=str(tmp_path / "queues.yaml"),
                            agents=str(tmp_path / "agents.yaml"), stats_every=stats_every),
            **sections)
        pbx.endpoints.update(phones)
        engine = Engine(settings)
        await run_engine(engine)
        return Rig(pbx, server, engine, db)

    yield make


#: two agents who serve the `sales` campaign (and the support queue: blended)
DIALER_AGENTS = """\
skills: [support, sales]
agents:
  - {id: "1001", device: PJSIP/agent1001, extension: "1001", skills: {support: 5, sales: 3},
     queues: {support: 0}, login: true, max_no_answer: 2}
  - {id: "1002", device: PJSIP/agent1002, extension: "1002", skills: {support: 5, sales: 3},
     queues: {support: 0}, login: true, max_no_answer: 2}
"""
ALWAYS = ('{timezone: UTC, weekly: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], '
          'wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], '
          'sat: ["00:00-24:00"], sun: ["00:00-24:00"]}}')


def campaign_yaml(mode: str = "progressive", agents: str = '["1001", "1002"]', **extra: str) -> str:
    """campaigns.yaml with one campaign, `sales`, callable at any hour (tests run at any
    time), `extra` as more of its fields (YAML flow values)."""
    fields = {"ring_timeout": "15", "wrapup": "1", **extra}  # extra overrides (no key twice)
    lines = [f"    {k}: {v}" for k, v in fields.items()]
    return "\n".join([
        "region: US", "campaigns:", "  sales:", f"    mode: {mode}", f"    agents: {agents}",
        '    caller_id: "Acme <+12025550100>"',
        f"    hours: {ALWAYS}",
        '    hours_override: "tests run at any hour; the fake customers do not mind"',
        '    safe_harbour: {prompt: vm-goodbye, identity: Acme Corp, callback_number: '
        '"+12025550100"}',
        *lines, ""])


class DialerRig(Rig):
    def __init__(self, pbx: Pbx, server: AmiServer, engine: Engine, db: str,
                 customers: dict[str, Endpoint]) -> None:
        super().__init__(pbx, server, engine, db)
        self.customers = customers
        pbx.network = lambda resource: customers.get(resource.split("@")[0])

    @property
    def dialer(self) -> Any:
        assert self.engine.dialer is not None
        return self.engine.dialer

    def dials(self) -> list[Any]:
        """Originates to customers the PBX received (not agents' lines)."""
        return [m for m in self.server.received if m.get("Action") == "Originate"
                and m.get("Context") == "centralita-dialer"]

    async def agi_of(self, call_id: str) -> list[str]:
        """AGI commands sent to the customer's channel of a dialled call."""
        rows = await self.rows(Interaction, Interaction.id == call_id)
        channel = rows[0].channel
        return [m.get("Command") for m in self.server.received
                if m.get("Action") == "AGI" and m.get("Channel") == channel]

    def campaign(self, name: str, action: str, **fields: Any) -> Any:
        return self.engine.commands.run("campaigns", name, {"action": action, **fields})

    async def rows(self, model: Any, *where: Any) -> list[Any]:
        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            async with store.session() as s:
                return list(await s.scalars(select(model).where(*where)))
        finally:
            await store.close()


async def import_leads(db: str, campaign: str, rows: list[tuple[str, dict[str, str]]]) -> None:
    """Leads as `centralita leads import` stores them (numbers in E.164 already)."""
    from dialer.leads import ParsedLead
    from dialer.numbers import callee
    from dialer.store import LeadStore

    store = Store(db)
    try:
        await store.migrate()
        parsed = []
        for i, (number, fields) in enumerate(rows):
            c = callee(number, region="US")
            parsed.append(ParsedLead(i + 2, c.number, c.zone_key, 0, fields))
        await LeadStore(store).import_leads(campaign, "test", parsed, update_existing=False,
                                            at=0.0)
    finally:
        await store.close()


@pytest.fixture
async def dialer(sim: Sim, tmp_path: Path, mqtt_url: str, database_url: str,
                 run_engine: Callable[..., Any]
                 ) -> AsyncIterator[Callable[..., Awaitable[DialerRig]]]:
    pbx, server = sim

    async def make(campaigns: str, customers: dict[str, Endpoint],
                   phones: dict[str, Endpoint] | None = None, agents: str = DIALER_AGENTS,
                   queues: str = QUEUES, prefix: str = "dlr/",
                   history: Callable[[str], Awaitable[None]] | None = None) -> DialerRig:
        """`history(db)`: what the store holds before the engine starts."""
        for name, text in (("ivr.yaml", IVR), ("queues.yaml", queues), ("agents.yaml", agents),
                           ("campaigns.yaml", campaigns)):
            (tmp_path / name).write_text(text)
        await import_leads(database_url, "sales", [(n, {"name": f"Customer {i}"})
                                                   for i, n in enumerate(customers)])
        if history is not None:
            await history(database_url)
        settings = Settings(
            ami=AmiSettings(url=f"ami://centralita:centralita-secret@127.0.0.1:{server.port}"),
            database=DatabaseSettings(url=database_url),
            mqtt=MqttSettings(url=mqtt_url, prefix=prefix, client_id=uuid.uuid4().hex[:8]),
            ivr=IvrSettings(file=str(tmp_path / "ivr.yaml")),
            acd=AcdSettings(queues=str(tmp_path / "queues.yaml"),
                            agents=str(tmp_path / "agents.yaml")),
            dialer=DialerSettings(campaigns=str(tmp_path / "campaigns.yaml"), stats_every=0.5))
        pbx.endpoints.update(phones or {"agent1001": agent_phone(0.5),
                                        "agent1002": agent_phone(0.5)})
        rig = DialerRig(pbx, server, Engine(settings), database_url, customers)
        await run_engine(rig.engine)
        return rig

    yield make


@pytest.fixture
def center(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped configuration with its own SQLite database."""
    for name in ("engine.yaml", "ivr.yaml", "hours.yaml", "queues.yaml", "agents.yaml",
                 "recording.yaml", "campaigns.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/c.db")
    return tmp_path
