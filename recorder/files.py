"""Recording files where the engine sees them: size and checksum, and retention (files
past their policy's days deleted, never those on legal hold; each deletion audited)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import structlog

from recorder.index import RecordingIndex
from recorder.model import RecordingConfig
from recorder.policy import Held, purge_due


def file_facts(path: Path) -> tuple[int | None, str | None]:
    """(size, 'sha256:<hex>') of a file, or (None, None) when it is not there."""
    try:
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
    except OSError:
        return None, None
    return size, "sha256:" + h.hexdigest()


def local_path(config: RecordingConfig, path: str) -> Path:
    """Where the engine sees a file Asterisk wrote at `path`."""
    seen = config.seen_directory
    if seen is None or not path.startswith(config.directory):
        return Path(path)
    return seen / path[len(config.directory):].lstrip("/")


async def purge_files(index: RecordingIndex, config: RecordingConfig, *, actor: str, now: float,
                      dry_run: bool = False) -> list[int]:
    """Delete files past their policy's retention (never on legal hold); rows stay, with
    status `deleted`, and each deletion is in the audit log. Returns the recording ids."""
    log = structlog.get_logger("recorder")
    if config.seen_directory is None:
        log.warning("recording.purge_skipped", why="the recordings directory is not visible")
        return []
    rows = await index.purgeable()
    days = {name: p.retain_days for name, p in config.policies.items()}
    due = purge_due((Held(r.id, r.policy, r.ended_at.timestamp() if r.ended_at else None,
                          r.status, r.legal_hold) for r in rows), days, now)
    if dry_run:
        return due
    paths = {r.id: r.path for r in rows}
    done = []
    for rec_id in due:
        local = local_path(config, paths[rec_id])
        try:
            await asyncio.to_thread(local.unlink, True)
        except OSError as exc:
            log.warning("recording.delete_failed", recording=rec_id, error=str(exc))
            continue
        await index.mark_deleted(rec_id, now)
        await index.audit(now, actor, "delete", str(rec_id), allowed=True,
                          detail={"path": paths[rec_id], "why": "retention"})
        log.info("recording.deleted", recording=rec_id, path=paths[rec_id])
        done.append(rec_id)
    return done
