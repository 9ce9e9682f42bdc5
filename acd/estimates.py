"""Estimated wait (pure): what a caller is told and what the wallboard shows."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_HANDLE = 180.0  # seconds, until the queue has handled calls to learn from


def estimated_wait(position: int, recent_handles: Sequence[float], on_duty: int) -> float:
    """Position x the mean of recent handle times (talk + wrap-up) / agents on duty."""
    handle = sum(recent_handles) / len(recent_handles) if recent_handles else DEFAULT_HANDLE
    return position * handle / max(1, on_duty)
