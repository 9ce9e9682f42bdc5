"""Where an agent may send a caller (pure): transfer targets, checked before anything moves."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Literal

from acd.callbacks import callback_number

Kind = Literal["queue", "agent", "ivr", "external"]


@dataclass(frozen=True, slots=True)
class TransferTo:
    kind: Kind
    name: str  # queue, agent id, IVR node, or the outside number (checked)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


def transfer_target(target: str, *, me: str, queues: Container[str], agents: Container[str],
                    ivr_nodes: Container[str], state_of: Callable[[str], str],
                    may_dial: Callable[[str], bool] = lambda _n: True) -> TransferTo | str:
    """The checked target of a blind transfer, or why it is refused."""
    kind, _, name = target.partition(":")
    if kind == "queue":
        if name not in queues:
            return f"unknown queue {name!r}"
        return TransferTo("queue", name)
    if kind == "agent":
        if name not in agents:
            return f"unknown agent {name!r}"
        if name == me:
            return "cannot transfer a call to yourself"
        state = state_of(name)
        if state != "ready":
            return f"agent {name} is not free ({state})"
        return TransferTo("agent", name)
    if kind == "ivr":
        if name not in ivr_nodes:
            return f"unknown IVR node {name!r}"
        return TransferTo("ivr", name)
    if kind == "external":
        number = callback_number(name, "")
        if number is None:
            return f"external number {name!r} is not a phone number"
        if not may_dial(number):
            return f"external number {number} is not one this center may call (outside_numbers)"
        return TransferTo("external", number)
    return (f"unknown transfer target {target!r} "
            "(queue:NAME, agent:ID, ivr:NODE or external:NUMBER)")


def keyed_target(extension: str, *, queue_extensions: Mapping[str, str],
                 agent_of: Callable[[str], str | None]) -> str:
    """`*2<ext>#` on the keypad: a queue's extension, else a colleague's id or extension."""
    queue = queue_extensions.get(extension)
    if queue is not None:
        return f"queue:{queue}"
    agent = agent_of(extension)
    return f"agent:{agent}" if agent else f"ext:{extension}"
