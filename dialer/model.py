"""Outbound campaigns as the admin writes them (config/campaigns.yaml), validated.

Beyond field types: ring time under 15 s, an abandon cap over 3 % or calling hours
outside 08:00-21:00 without a named override, predictive or power dialing without a
safe-harbour message, agents and skills agents.yaml does not have, prompts nobody
declared. Every problem names file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from asterisk.sounds import stock_prompts
from core.dispositions import Dispositions
from core.errors import ConfigError
from core.people import Agent, AgentsConfig
from core.schedule import Schedule
from core.yamlconf import parse_yaml, problems_at, read_text, validate
from dialer.hours import default_hours, outside_legal_window

Mode = Literal["preview", "progressive", "power", "predictive"]
Outcome = Literal["busy", "no_answer", "machine", "congestion", "dropped", "failed"]
DIAL = re.compile(r"^(PJSIP|SIP|IAX2|DAHDI|Local)/\S*\{(number|digits)\}\S*$")


def _dial(v: str) -> str:
    if not DIAL.match(v):
        raise ValueError(f"{v!r} is not a channel to dial: write a technology and "
                         "{number} (E.164, with +) or {digits} (without), e.g. "
                         "PJSIP/{number}@trunk")
    return v


#: how to reach a customer: a channel with {number} in it, e.g. PJSIP/{number}@trunk
DialString = Annotated[str, AfterValidator(_dial)]
Seconds = Annotated[float, Field(ge=0, le=30 * 86400)]
LEGAL_CAP = 3.0  # percent of live answers, per campaign, over 30 days (US TSR)
MIN_RING = 15.0  # seconds (US TSR: 15 s or 4 rings)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retry(_Strict):
    """After this outcome: dial again `after` seconds later, up to `max` times."""

    after: Seconds
    max: Annotated[int, Field(ge=0, le=20)]


def _retries() -> dict[Outcome, Retry]:
    return {"busy": Retry(after=600, max=3), "no_answer": Retry(after=3600, max=3),
            "machine": Retry(after=4 * 3600, max=2), "congestion": Retry(after=300, max=3),
            "dropped": Retry(after=72 * 3600, max=1), "failed": Retry(after=1800, max=1)}


class SafeHarbour(_Strict):
    """What a person hears when no agent is free within 2 s of their greeting: who is
    calling and a number to call back, and a key to never be called again."""

    prompt: str  # the recording: identity, call-back number, the opt-out key
    identity: str = Field(min_length=2, max_length=100)
    callback_number: str = Field(pattern=r"^\+?[0-9]{3,16}$")
    opt_out_key: str = Field("9", pattern=r"^[0-9]$")


class AmdParams(_Strict):
    """AMD() arguments in milliseconds (amd.conf's names; Asterisk's defaults)."""

    initial_silence: Annotated[int, Field(ge=500, le=10000)] = 2500
    greeting: Annotated[int, Field(ge=500, le=10000)] = 1500
    after_greeting_silence: Annotated[int, Field(ge=300, le=5000)] = 800
    total_analysis_time: Annotated[int, Field(ge=1000, le=10000)] = 5000
    min_word_length: Annotated[int, Field(ge=50, le=1000)] = 100
    between_words_silence: Annotated[int, Field(ge=20, le=1000)] = 50
    maximum_number_of_words: Annotated[int, Field(ge=1, le=10)] = 2
    silence_threshold: Annotated[int, Field(ge=1, le=32767)] = 256

    def args(self) -> str:
        """As AMD()'s comma-separated arguments."""
        return ",".join(str(v) for v in (
            self.initial_silence, self.greeting, self.after_greeting_silence,
            self.total_analysis_time, self.min_word_length, self.between_words_silence,
            self.maximum_number_of_words, self.silence_threshold))


class Amd(_Strict):
    enabled: bool = True
    on_machine: Literal["hangup", "message"] = "hangup"
    message: str | None = None  # played to a machine when on_machine is message
    notsure: Literal["human", "machine"] = "human"  # an unsure result is treated as
    params: AmdParams = AmdParams()

    @model_validator(mode="after")
    def _message(self) -> Amd:
        if self.on_machine == "message" and not self.message:
            raise ValueError("on_machine: message needs the message prompt (message:)")
        return self


class Blend(_Strict):
    #: the share of blended agents' time (they also serve queues) for this campaign
    outbound_share: Annotated[float, Field(ge=0, le=1)] | None = None


class Campaign(_Strict):
    mode: Mode
    ratio: Annotated[float, Field(ge=1.0, le=5.0)] | None = None  # power: lines per free agent
    lists: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]] = \
        Field(default_factory=list)  # none: every list imported into the campaign
    agents: list[str] = Field(default_factory=list)
    skills: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=dict)
    blend: Blend = Blend()
    caller_id: str = Field(min_length=3, max_length=80)
    dial: DialString = "PJSIP/{number}@trunk"
    ring_timeout: Annotated[float, Field(ge=1, le=120)] = 20
    hours: Schedule = Field(default_factory=default_hours)
    hours_override: str | None = Field(None, min_length=10, max_length=300)
    retries: dict[Outcome, Retry] = Field(default_factory=_retries)
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    abandon_cap: Annotated[float, Field(ge=0, le=100)] = LEGAL_CAP
    abandon_cap_override: str | None = Field(None, min_length=10, max_length=300)
    drop: Literal["retry", "callback"] = "retry"  # a dropped call's lead: redial later, or as a callback
    safe_harbour: SafeHarbour | None = None
    amd: Amd = Amd()
    dispositions: Dispositions | None = None
    dnc_codes: list[str] = Field(default_factory=list)  # dispositions that add the number to DNC
    wrapup: Annotated[float, Field(ge=0, le=3600)] = 15
    auto_ready: bool = True
    screenpop: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = \
        Field(default_factory=list)  # lead fields shown to the agent
    preview_timeout: Annotated[float, Field(ge=5, le=600)] = 30
    max_dial_level: Annotated[float, Field(ge=1, le=10)] = 4.0  # predictive: lines per agent, at most
    between_calls: Literal["music", "silence"] = "music"  # what agents hear while they wait
    priority: Annotated[int, Field(ge=0, le=100)] = 0  # lead priority given on import
    #: dials from the engine's start; false: it waits for a supervisor's `start`
    autostart: bool = True

    @field_validator("ring_timeout")
    @classmethod
    def _ring(cls, v: float) -> float:
        if v < MIN_RING:
            raise ValueError(f"ring_timeout {v:g} s is under {MIN_RING:g} s: the called person "
                             "must get at least 15 s (or 4 rings) to answer")
        return v

    @model_validator(mode="after")
    def _rules(self) -> Campaign:
        broken: list[str] = []
        if self.mode == "power" and self.ratio is None:
            broken.append("power mode needs ratio (lines dialled per free agent, e.g. 1.5)")
        if self.mode != "power" and self.ratio is not None:
            broken.append(f"ratio only applies to power mode (this one is {self.mode})")
        if self.mode in ("power", "predictive") and self.safe_harbour is None:
            broken.append(f"{self.mode} dialing may drop answered calls: it needs "
                          "safe_harbour (prompt, identity, callback_number)")
        if self.abandon_cap > LEGAL_CAP and not self.abandon_cap_override:
            broken.append(f"abandon_cap {self.abandon_cap:g} % is over {LEGAL_CAP:g} %: "
                          "give abandon_cap_override with the reason it is allowed")
        outside = outside_legal_window(self.hours)
        if outside and not self.hours_override:
            broken.append(f"calling hours outside 08:00-21:00 ({', '.join(outside)}): "
                          "give hours_override with the reason it is allowed")
        if not self.agents and not self.skills:
            broken.append("a campaign needs agents (ids) or skills (who may serve it)")
        if self.dnc_codes:
            known = set(self.dispositions.codes) if self.dispositions else set()
            unknown = [c for c in self.dnc_codes if c not in known]
            if unknown:
                broken.append(f"dnc_codes {unknown} are not among the dispositions' codes")
        if broken:
            raise ValueError("; ".join(broken))
        return self

    def prompts(self) -> list[tuple[tuple[str, ...], str]]:
        out: list[tuple[tuple[str, ...], str]] = []
        if self.safe_harbour is not None:
            out.append((("safe_harbour", "prompt"), self.safe_harbour.prompt))
        if self.amd.message:
            out.append((("amd", "message"), self.amd.message))
        return out


class CampaignsConfig(_Strict):
    #: where national numbers (without +) are read: ISO 3166 region, e.g. US, ES
    region: str = Field("US", pattern=r"^[A-Z]{2}$")
    prompts: dict[str, float] = Field(default_factory=dict)  # custom recordings: name -> s
    campaigns: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")], Campaign] = \
        Field(default_factory=dict)

    def check(self, agents: AgentsConfig | None) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-file problems: agents and skills, prompts."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        known_prompts = set(stock_prompts()) | set(self.prompts)
        ids = {a.id for a in agents.agents} if agents else set()
        skills = set(agents.skills) if agents else set()
        for name, c in self.campaigns.items():
            for i, agent in enumerate(c.agents):
                if agent not in ids:
                    out.append((("campaigns", name, "agents", i),
                                f"unknown agent {agent!r} (agents.yaml)"))
            for skill in c.skills:
                if skill not in skills:
                    out.append((("campaigns", name, "skills", skill),
                                f"unknown skill {skill!r} (agents.yaml lists {sorted(skills)})"))
            if agents is not None and not c.agents and not any(
                    all(a.skills.get(s, 0) >= lvl for s, lvl in c.skills.items())
                    for a in agents.agents):
                out.append((("campaigns", name, "skills"), "no agent has these skills"))
            for loc, prompt in c.prompts():
                if prompt not in known_prompts:
                    out.append((("campaigns", name, *loc),
                                f"prompt {prompt!r} is neither a stock sound nor listed under "
                                "prompts:"))
        return out

    def members(self, agents: AgentsConfig) -> dict[str, frozenset[str]]:
        """agent id -> the campaigns they serve (named, or by their skills)."""
        return self.members_of(agents.agents)

    def members_of(self, agents: Iterable[Agent]) -> dict[str, frozenset[str]]:
        agents = list(agents)
        out: dict[str, set[str]] = {a.id: set() for a in agents}
        for name, c in self.campaigns.items():
            for a in agents:
                if a.id in c.agents or (c.skills and all(
                        a.skills.get(s, 0) >= lvl for s, lvl in c.skills.items())):
                    out[a.id].add(name)
        return {a: frozenset(cs) for a, cs in out.items()}


def load_campaigns(path: Path, agents: AgentsConfig | None) -> CampaignsConfig:
    text = read_text(path)
    return parse_campaigns(text, str(path), agents)


def parse_campaigns(text: str, source: str, agents: AgentsConfig | None) -> CampaignsConfig:
    data, node = parse_yaml(text, source)
    config = validate(CampaignsConfig, data, node, source)
    problems = config.check(agents)
    if problems:
        raise ConfigError(problems_at(node, source, problems))
    return config


def describe(c: Campaign) -> dict[str, Any]:
    """What the wallboard and `dialer simulate` say about a campaign's rules."""
    return {"mode": c.mode, "ratio": c.ratio, "abandon_cap": c.abandon_cap,
            "ring_timeout": c.ring_timeout, "amd": c.amd.enabled}
