"""What the dialer holds in memory: each campaign's run (status, hopper, the calls it has
in flight, the people waiting the 2 s for an agent, preview offers) and each call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from core.payloads import ScreenPop
from dialer.hopper import Hopper
from dialer.model import Campaign, Mode
from dialer.store import LeadRow

Status = Literal["running", "paused", "stopped"]
OWNER = "dialer"


def owner_of(campaign: str) -> str:
    """How the agent pool names the holder of an agent on one of a campaign's calls."""
    return f"{OWNER}:{campaign}"


def campaign_of(owner: str) -> str | None:
    head, sep, name = owner.partition(":")
    return name if head == OWNER and sep else None


@dataclass(slots=True)
class DialerCall:
    call_id: str  # the interaction's id
    campaign: str
    lead: LeadRow
    leg: str  # the ChannelId it was originated with
    dialled_at: float
    agent: str | None = None  # held for it since the dial (progressive, preview), or joined
    held: bool = False
    channel: str | None = None  # known once answered
    answered_at: float | None = None
    verdict_at: float | None = None
    amd_status: str = ""
    amd_cause: str = ""
    human: bool = False
    connected_at: float | None = None
    outcome: str = ""  # once decided (dialer/outcomes.py)
    abandoned: bool = False
    dead_air_ms: int | None = None
    pop: ScreenPop | None = None  # prepared while it rings
    waiting: asyncio.TimerHandle | None = None  # a person's 2 s for an agent
    deadline: float | None = None  # when those 2 s (less the margin) run out


@dataclass(slots=True)
class Offer:
    """A previewed lead on an agent's screen."""

    agent: str
    lead: LeadRow
    call_id: str
    expires_at: float
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class Run:
    """One campaign as it runs."""

    name: str
    config: Campaign
    hopper: Hopper
    status: Status = "stopped"
    why: str = ""
    mode: Mode = "progressive"
    ratio: float | None = None
    calls: dict[str, DialerCall] = field(default_factory=dict)  # dialled, not yet settled
    waiting: dict[str, DialerCall] = field(default_factory=dict)  # people waiting for an agent
    offers: dict[str, Offer] = field(default_factory=dict)  # agent -> preview offer
    scale: float = 1.0  # the pacing's abandon controller
    scale_at: float | None = None
    refused_in_row: int = 0  # dials the trunk refused since one went through
    last_dial: str = ""  # what the pacing said last

    @classmethod
    def of(cls, name: str, config: Campaign, hopper: Hopper) -> Run:
        return cls(name, config, hopper, mode=config.mode, ratio=config.ratio)

    def busy_leads(self) -> set[int]:
        return {c.lead.id for c in self.calls.values()} | {o.lead.id for o in self.offers.values()}
