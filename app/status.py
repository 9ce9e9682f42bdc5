"""`centralita status`: is the engine up, is it connected to Asterisk, the broker and the
database, and what the queues and agents look like now (from the engine's own retained
snapshots: an engine that is down says so instead of showing stale figures)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import aiomqtt
from sqlalchemy import text

from core.mqtt import connect
from core.settings import Settings
from core.store import Store
from core.topics import Topics


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("status", help="engine, AMI, broker, database; queues and agents now",
                       description="Reads the engine's retained MQTT snapshots (engine/status, "
                                   "queues, agents), asks its /readyz for AMI and the database, "
                                   "and checks the database from here.")
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    p.add_argument("--wait", type=float, default=1.0, help="seconds to collect snapshots")


async def gather(settings: Settings, wait: float) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": None, "broker": None, "ami": None, "database": None,
                           "queues": {}, "agents": {}, "campaigns": {}}
    topics = Topics(settings.mqtt.prefix)
    try:
        async with connect(settings.mqtt, "status") as client:
            out["broker"] = {"url": settings.mqtt.safe_url, "ok": True}
            await client.subscribe(topics.engine_status())
            for wildcard in topics.snapshots():
                await client.subscribe(wildcard)
            try:
                async with asyncio.timeout(wait):
                    async for m in client.messages:
                        if not m.payload:
                            continue
                        body = json.loads(m.payload)  # type: ignore[arg-type]
                        topic = str(m.topic)
                        if topic == topics.engine_status():
                            out["engine"] = body
                        elif topic.endswith("/presence"):
                            out["agents"][body.get("agent", topic)] = body
                        elif topic.startswith(f"{settings.mqtt.prefix}queues/"):
                            out["queues"][body.get("queue", topic)] = body
                        elif topic.startswith(f"{settings.mqtt.prefix}campaigns/"):
                            out["campaigns"][body.get("campaign", topic)] = body
            except TimeoutError:
                pass
    except (aiomqtt.MqttError, OSError) as exc:
        out["broker"] = {"url": settings.mqtt.safe_url, "ok": False, "error": str(exc)}
    if settings.http.listen is not None and (out["engine"] or {}).get("status") == "online":
        host, port = settings.http.address
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
            writer.write(f"GET /readyz HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            raw = await asyncio.wait_for(reader.read(), 3)
            writer.close()
            ready = json.loads(raw.split(b"\r\n\r\n", 1)[1])
            out["ami"] = ready.get("ami")
            out["database_engine"] = ready.get("database")
        except (OSError, TimeoutError, ValueError, IndexError):
            out["ami"] = None
    store = Store(settings.database.url)
    try:
        async with asyncio.timeout(3), store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        out["database"] = True
    except Exception as exc:
        out["database"] = False
        out["database_error"] = str(exc)[:200]
    finally:
        await store.close()
    return out


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def render(state: dict[str, Any], now: float, out: TextIO) -> None:
    engine = state["engine"]
    if engine is None:
        out.write("engine    unknown (no engine/status on the broker: never started here?)\n")
    else:
        when = datetime.fromtimestamp(engine["started_at"], UTC).astimezone()
        if engine["status"] == "online":
            out.write(f"engine    online, {engine['version']}, up {_clock(now - engine['started_at'])} "
                      f"(since {when:%Y-%m-%d %H:%M})\n")
        else:
            gone = datetime.fromtimestamp(engine["at"], UTC).astimezone()
            out.write(f"engine    OFFLINE since {gone:%Y-%m-%d %H:%M:%S} ({engine.get('reason')}): "
                      f"what follows is not live\n")
    ami = state["ami"]
    out.write(f"asterisk  {'connected' if ami else 'not connected' if ami is False else 'unknown'}"
              f"{'' if ami is not None else ' (ask the engine: http.listen)'}\n")
    broker = state["broker"]
    out.write(f"broker    {broker['url']} {'ok' if broker['ok'] else 'UNREACHABLE: ' + broker['error']}\n")
    db = state["database"]
    out.write(f"database  {'reachable' if db else 'UNREACHABLE: ' + state.get('database_error', '')}\n")
    live = engine is not None and engine["status"] == "online"
    if state["queues"]:
        out.write(f"\n{'queue':<12}{'waiting':>8}{'longest':>9}{'answered':>10}{'abandoned':>11}"
                  f"  agents\n")
        for name, q in sorted(state["queues"].items()):
            waited = q.get("longest_wait", 0.0) + (now - q["at"] if live and q.get("waiting") else 0)
            today = q.get("today") or {}
            agents = ", ".join(f"{n} {s}" for s, n in sorted((q.get("agents") or {}).items()))
            out.write(f"{name:<12}{q.get('waiting', 0):>8}{_clock(waited):>9}"
                      f"{today.get('answered', 0):>10}{today.get('abandoned', 0):>11}  {agents}\n")
    if state["agents"]:
        counts: dict[str, int] = {}
        for a in state["agents"].values():
            counts[a["state"]] = counts.get(a["state"], 0) + 1
        out.write("\nagents    " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + "\n")
        for agent_id, a in sorted(state["agents"].items()):
            if a["state"] != "logged_out":
                reason = f" ({a['reason']})" if a.get("reason") else ""
                out.write(f"  {agent_id:<6} {a.get('name', ''):<18} {a['state']}{reason} "
                          f"{_clock(now - a['since'])}\n")


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    state = asyncio.run(gather(settings, args.wait))
    if args.json:
        out.write(json.dumps(state, indent=2) + "\n")
    else:
        render(state, time.time(), out)
    engine = state["engine"] or {}
    return 0 if engine.get("status") == "online" and state["database"] else 1
