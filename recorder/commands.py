"""`centralita recordings ...` and `centralita qa ...`: finding, checking, purging and
scoring recordings. Only supervisors and QA (roles in agents.yaml) may; every access,
allowed or not, is written to the audit log."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TextIO

from core.store import Store
from recorder.files import file_facts, local_path, purge_files
from recorder.index import Filters, RecordingIndex
from recorder.model import RecordingConfig
from recorder.policy import score

ROLES = ("supervisor", "qa")


class Refused(Exception):
    """The command may not run (role, unknown id, bad answers); the message says why."""


@dataclass
class Desk:
    """What the commands work with: the index, the config and who is asking."""

    index: RecordingIndex
    config: RecordingConfig
    roles: dict[str, str]  # agent id -> role
    user: str
    out: TextIO

    async def allow(self, action: str, target: str, **detail: object) -> None:
        role = self.roles.get(self.user)
        allowed = role in ROLES
        await self.index.audit(time.time(), self.user, action, target, allowed=allowed,
                               detail={k: v for k, v in detail.items() if v is not None}
                               | ({} if allowed else {"why": f"role {role or 'unknown'}"}))
        if not allowed:
            raise Refused(f"{self.user!r} may not {action} recordings: only "
                          f"{' and '.join(ROLES)} roles may (agents.yaml)")

    def local(self, path: str) -> Path | None:
        return None if self.config.seen_directory is None else local_path(self.config, path)

    def say(self, line: str) -> None:
        self.out.write(line + "\n")


async def list_(desk: Desk, f: Filters) -> int:
    await desk.allow("list", "", day=f.day, agent=f.agent, queue=f.queue, number=f.number,
                     disposition=f.disposition)
    rows = await desk.index.find(f)
    desk.say(f"{'id':>6}  {'started (UTC)':19}  {'call':16} {'seg':>3}  {'agent':8} "
             f"{'queue':10} {'number':14} {'secs':>6}  status")
    for r in rows:
        desk.say(f"{r.id:>6}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.interaction_id:16} "
                 f"{r.segment:>3}  {r.agent or '-':8} {r.queue or '-':10} "
                 f"{r.customer_number or '-':14} {r.duration_s or 0:>6.0f}  {r.status}"
                 f"{' (legal hold)' if r.legal_hold else ''}")
    desk.say(f"{len(rows)} recording(s)")
    return 0


async def show(desk: Desk, rec_id: int) -> int:
    await desk.allow("show", str(rec_id))
    r = await desk.index.get(rec_id)
    if r is None:
        raise Refused(f"no recording {rec_id}")
    for key in ("id", "interaction_id", "segment", "agent", "queue", "campaign",
                "customer_number", "policy", "format", "channel", "path", "started_at",
                "ended_at", "duration_s", "size", "checksum", "status", "note", "legal_hold",
                "deleted_at"):
        desk.say(f"{key:16} {getattr(r, key)}")
    for p in r.paused:
        end = p.get("end")
        length = f"{end - p['start']:.1f} s" if end is not None else "until the end"
        desk.say(f"{'paused':16} {length} ({p.get('reason')}) from "
                 f"{time.strftime('%H:%M:%S', time.gmtime(p['start']))} UTC")
    for s in await desk.index.scores(rec_id):
        desk.say(f"{'score':16} {s.percent:.1f}% {'passed' if s.passed else 'FAILED'} by "
                 f"{s.evaluator} ({s.form}){' critical: ' + ','.join(s.failed_critical) if s.failed_critical else ''}")
    return 0


async def fetch(desk: Desk, rec_id: int, to: Path | None) -> int:
    """A copy under the configured export directory, never anywhere else."""
    target = export_path(desk.config, rec_id, to)
    await desk.allow("fetch", str(rec_id), to=str(target))
    r = await desk.index.get(rec_id)
    if r is None:
        raise Refused(f"no recording {rec_id}")
    local = desk.local(r.path)
    if local is None or not local.exists():
        raise Refused(f"recording {rec_id}: file not available here ({r.path}, status {r.status})")
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(shutil.copyfile, local, target)
    desk.say(f"recording {rec_id} -> {target}")
    return 0


def export_path(config: RecordingConfig, rec_id: int, to: Path | None) -> Path:
    """Where a fetched copy goes: `to` (a name, or a path inside the export directory)."""
    if not config.export_directory:
        raise Refused("fetch is off: set export_directory in recording.yaml (where copies "
                      "of recordings may be written)")
    base = Path(config.export_directory).resolve()
    wanted = to if to is not None else Path(f"recording-{rec_id}")
    target = (wanted if wanted.is_absolute() else base / wanted).resolve()
    if target == base or not target.is_relative_to(base):
        raise Refused(f"fetch writes only under {base}, not to {to}")
    if target.exists():
        raise Refused(f"{target} exists already: fetch does not overwrite")
    return target


#: a segment still `recording` this long after it began is stuck (no call lasts so long)
STUCK_HOURS = 6.0


async def verify(desk: Desk, f: Filters) -> int:
    """Rows whose file is missing or whose checksum changed; missing ones are marked so."""
    await desk.allow("verify", "", day=f.day)
    if desk.config.seen_directory is None:
        raise Refused("the recordings directory is not visible to the engine (visible_directory)")
    bad = 0
    rows = await desk.index.find(f)
    for r in rows:
        if r.status == "recording":
            started = r.started_at if r.started_at.tzinfo else r.started_at.replace(tzinfo=UTC)
            hours = (time.time() - started.timestamp()) / 3600
            if await desk.index.call_over(r.interaction_id) or hours > STUCK_HOURS:
                bad += 1  # nobody will close it but the engine's next start
                desk.say(f"STUCK    {r.id} {r.path} (still 'recording' {hours:.1f} h after it "
                         f"began; its call is over: the engine's next start closes it)")
            else:
                desk.say(f"OPEN     {r.id} {r.path} (recording since {started:%Y-%m-%d %H:%M} "
                         f"UTC: a call in progress, or one the engine missed while it was down; "
                         f"its next start closes those)")
            continue
        if r.status not in ("complete", "missing"):
            continue
        local = desk.local(r.path)
        assert local is not None
        size, digest = await asyncio.to_thread(file_facts, local)
        if size is None:
            bad += 1
            desk.say(f"MISSING  {r.id} {r.path}")
            if r.status != "missing":
                await desk.index.set_status(r.id, "missing", f"verify: no file at {local}")
        elif r.checksum and digest != r.checksum:
            bad += 1
            desk.say(f"CHANGED  {r.id} {r.path} (was {r.checksum[:19]}..., now {digest[:19]}...)")  # type: ignore[index]
    desk.say(f"{len(rows)} checked, {bad} with problems")
    return 1 if bad else 0


async def hold(desk: Desk, rec_id: int, release: bool) -> int:
    await desk.allow("release_hold" if release else "legal_hold", str(rec_id))
    if not await desk.index.set_legal_hold(rec_id, not release):
        raise Refused(f"no recording {rec_id}")
    desk.say(f"recording {rec_id}: legal hold {'released' if release else 'set'}")
    return 0


async def purge(desk: Desk, dry_run: bool) -> int:
    await desk.allow("purge", "", dry_run=dry_run)
    ids = await purge_files(desk.index, desk.config, actor=desk.user, now=time.time(),
                            dry_run=dry_run)
    desk.say(f"{'would delete' if dry_run else 'deleted'} {len(ids)} recording(s)"
             f"{': ' + ', '.join(map(str, ids)) if ids else ''}")
    return 0


async def score_(desk: Desk, rec_id: int, form_name: str, raw: list[str]) -> int:
    await desk.allow("score", str(rec_id), form=form_name)
    form = desk.config.forms.get(form_name)
    if form is None:
        raise Refused(f"unknown form {form_name!r} (recording.yaml forms: "
                      f"{sorted(desk.config.forms)})")
    r = await desk.index.get(rec_id)
    if r is None:
        raise Refused(f"no recording {rec_id}")
    answers: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep:
            raise Refused(f"answer {item!r} is not criterion=value")
        answers[key.strip()] = value.strip()
    try:
        result = score([(c.id, c.weight, c.scale, c.critical) for c in form.criteria], answers,
                       form.pass_mark)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    await desk.index.add_score(r, desk.user, form_name, answers, result.percent, result.passed,
                               list(result.failed_critical), time.time())
    desk.say(f"recording {rec_id} ({r.agent or 'no agent'}): {result.percent:.1f}% "
             f"{'passed' if result.passed else 'FAILED'}"
             f"{' (critical: ' + ', '.join(result.failed_critical) + ')' if result.failed_critical else ''}")
    return 0


async def report(desk: Desk) -> int:
    await desk.allow("report", "")
    desk.say(f"{'agent':10} {'evaluations':>11} {'average':>8} {'passed':>7}")
    for agent, n, avg, passed in await desk.index.agent_averages():
        desk.say(f"{agent or '-':10} {n:>11} {avg:>7.1f}% {passed:>7}")
    return 0


async def with_desk(url: str, config: RecordingConfig, roles: dict[str, str], user: str,
                    out: TextIO, work: Callable[[Desk], Awaitable[int]]) -> int:
    """Open the store, run `work(desk)`, close it."""
    store = Store(url)
    try:
        await store.migrate()
        desk = Desk(RecordingIndex(store), config, roles, user, out)
        return await work(desk)
    finally:
        await store.close()
