"""Recording decisions (pure): whether a call is recorded, where its file goes, which
files retention removes, and how a QA evaluation scores. Time is passed in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Mode = Literal["always", "never", "on_demand", "sampled"]
EXTENSIONS = {"wav": "wav", "gsm": "gsm", "wav49": "WAV"}  # wav49 is written as .WAV


@dataclass(frozen=True, slots=True)
class Record:
    """Start a segment now: MixMonitor on `channel` into `path`."""

    path: str
    bridged_only: bool  # MixMonitor option b: only while bridged (the wait is not recorded)


@dataclass(frozen=True, slots=True)
class Skip:
    why: str


def sampled_in(call_id: str, percent: float) -> bool:
    """A stable draw per call (the same call always gets the same answer, across restarts
    and engines), uniform over 0-100 in steps of 0.01."""
    bucket = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:4], "big") % 10000
    return bucket < percent * 100


def decide(mode: Mode, percent: float | None, call_id: str, *, on_demand: bool = False) -> str | None:
    """None when the call is to be recorded, else why not. `on_demand`: the agent asked."""
    if mode == "always":
        return None
    if mode == "never":
        return "policy: never"
    if mode == "on_demand":
        return None if on_demand else "policy: on demand, not asked"
    if on_demand:
        return None  # an agent may still record a call the sample left out
    return None if sampled_in(call_id, percent or 0.0) else f"policy: sampled {percent:g}%, not drawn"


def recording_path(directory: str, naming: str, fmt: str, *, at: float, interaction: str,
                   segment: int, agent: str = "", queue: str = "", campaign: str = "",
                   number: str = "", kind: str = "") -> str:
    """Absolute file path for a segment; fields are made safe for a file name."""
    when = datetime.fromtimestamp(at, UTC)
    fields = {"date": when.strftime("%Y/%m/%d"), "time": when.strftime("%H%M%S"),
              "interaction": interaction, "segment": str(segment), "agent": agent or "none",
              "queue": queue or "none", "campaign": campaign or "none",
              "number": number or "unknown", "kind": kind or "call"}
    safe = {k: v if k == "date" else _safe(v) for k, v in fields.items()}
    return f"{directory.rstrip('/')}/{naming.format(**safe)}.{EXTENSIONS[fmt]}"


def _safe(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_+" else "_" for c in value)[:64]


@dataclass(frozen=True, slots=True)
class Held:
    """What retention needs to know of a recording row."""

    id: int
    policy: str
    ended: float | None
    status: str
    legal_hold: bool


def purge_due(rows: Iterable[Held], retain_days: Mapping[str, int | None], now: float) -> list[int]:
    """Rows whose policy's retention has passed: not on legal hold, not already deleted,
    finished; unknown policies (renamed since) are kept, never guessed."""
    out = []
    for r in rows:
        days = retain_days.get(r.policy)
        if days is None or r.legal_hold or r.status == "deleted" or r.ended is None:
            continue
        if now - r.ended >= days * 86400:
            out.append(r.id)
    return out


def paused_seconds(intervals: Iterable[tuple[float, float | None]], end: float) -> float:
    return sum((stop if stop is not None else end) - start for start, stop in intervals)


@dataclass(frozen=True, slots=True)
class Score:
    percent: float
    passed: bool
    failed_critical: tuple[str, ...]


def score(criteria: Iterable[tuple[str, float, str, bool]], answers: Mapping[str, str],
          pass_mark: float) -> Score:
    """criteria: (id, weight, scale 'yes_no'|'1-5', critical). Every criterion needs an
    answer: yes/no, or 1-5. A critical 'no' (or 1) fails whatever the total."""
    total = got = 0.0
    failed: list[str] = []
    seen = set()
    for cid, weight, scale, critical in criteria:
        seen.add(cid)
        if cid not in answers:
            raise ValueError(f"no answer for criterion {cid!r}")
        raw = answers[cid].strip().lower()
        if scale == "yes_no":
            if raw not in ("yes", "no"):
                raise ValueError(f"criterion {cid!r} takes yes or no, not {answers[cid]!r}")
            value = 1.0 if raw == "yes" else 0.0
        else:
            if raw not in ("1", "2", "3", "4", "5"):
                raise ValueError(f"criterion {cid!r} takes 1-5, not {answers[cid]!r}")
            value = (int(raw) - 1) / 4
        if critical and value == 0.0:
            failed.append(cid)
        total += weight
        got += weight * value
    extra = sorted(set(answers) - seen)
    if extra:
        raise ValueError(f"unknown criterion(s) {extra}")
    percent = round(100.0 * got / total, 1) if total else 0.0
    return Score(percent, percent >= pass_mark and not failed, tuple(failed))
