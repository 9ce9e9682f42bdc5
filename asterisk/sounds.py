"""The prompts a stock Asterisk ships (asterisk/sounds.txt), with their lengths."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "sounds.txt"


@cache
def stock_prompts() -> dict[str, float]:
    out: dict[str, float] = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, length = line.rpartition(" ")
            out[name] = float(length)
    return out
