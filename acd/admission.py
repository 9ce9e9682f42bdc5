"""Whether a new caller may join a queue now (pure)."""

from __future__ import annotations


def refusal(*, max_length: int | None, join_empty: bool, waiting: int, logged_in: int) -> str | None:
    """Why a caller may not join (`full`, `no_agents`), or None. `waiting` counts the
    queue's callers not being offered to an agent, the new one included; `logged_in` the
    queue's agents who are not logged out."""
    if max_length is not None and waiting > max_length:
        return "full"
    if not join_empty and logged_in == 0:
        return "no_agents"
    return None
