"""Queues and agents as the admin writes them (config/queues.yaml, config/agents.yaml).

Checked beyond types: unknown skills, queues no agent can serve, overflow loops,
duplicate agent ids and extensions; every problem names file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from acd.routing import QueueRules, Step
from acd.servicelevel import Abandons, ServiceLevelRule
from asterisk.sounds import stock_prompts
from core.dispositions import Dispositions
from core.errors import ConfigError
from core.people import Agent, AgentsConfig, Level
from core.safepatterns import checked
from core.schedule import Schedule
from core.suggest import did_you_mean
from core.yamlconf import parse_yaml, problems_at, read_text, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: how to reach an outside number: a channel with {number} in it, e.g. PJSIP/{number}@trunk
DialString = Annotated[str, Field(pattern=r"^(PJSIP|SIP|IAX2|DAHDI|Local)/\S*\{number\}\S*$")]
Seconds = Annotated[float, Field(ge=0, le=86400)]


class Target(_Strict):
    """Where an overflowing call goes."""

    queue: str | None = None
    voicemail: str | None = None
    callback: bool = False
    message: list[str] | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        kinds = [k for k in ("queue", "voicemail", "message") if getattr(self, k)]
        kinds += ["callback"] if self.callback else []
        if len(kinds) != 1:
            raise ValueError(f"an overflow target needs exactly one of queue, voicemail, "
                             f"callback, message (got {kinds or 'none'})")
        return self

    @property
    def label(self) -> str:
        if self.queue:
            return f"queue:{self.queue}"
        if self.voicemail:
            return f"voicemail:{self.voicemail}"
        if self.callback:
            return "callback"
        return "message:" + ",".join(self.message or [])


def _target(v: Any) -> Any:
    return {"queue": v} if isinstance(v, str) else v


TargetIn = Annotated[Target, BeforeValidator(_target)]


class EscalationStep(_Strict):
    after: Seconds
    min_level: Level | None = None
    overflow: TargetIn | None = None

    @model_validator(mode="after")
    def _what(self) -> EscalationStep:
        if (self.min_level is None) == (self.overflow is None):
            raise ValueError("a step either lowers min_level or overflows, exactly one")
        return self


class Announcements(_Strict):
    entry: str | None = "queue-thankyou"
    position_every: Seconds | None = 60  # position and estimated wait
    periodic: str | None = None
    periodic_every: Seconds = 90


class CallbackRules(_Strict):
    """A caller who takes a callback keeps their place; at their turn an agent is rung and,
    once they answer, the engine dials the customer (`dial`, with {number}) and bridges."""

    dial: DialString = "PJSIP/{number}@trunk"
    caller_id: str = Field("", max_length=80)  # what the customer's phone shows
    ask_number: bool = True  # the caller may key another number (else their caller id)
    ring_timeout: Annotated[float, Field(gt=0, le=120)] = 30
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    retry_after: Seconds = 300


class Queue(_Strict):
    strategy: Literal["longest_idle", "least_calls", "least_talk", "skill_level", "round_robin",
                      "random", "ring_all"] = "longest_idle"
    skills: dict[str, Level] = Field(default_factory=dict)
    priority: int = Field(0, ge=0, le=100)
    ring_timeout: Annotated[float, Field(gt=0, le=300)] = 15
    wrapup: Seconds = 10
    auto_ready: bool = True
    moh: str = "default"
    max_wait: Seconds | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None
    overflow: TargetIn | None = None  # where max_wait / max_length / empty queue send callers
    join_empty: bool = True  # callers may join while no agent is logged in
    leave_empty: bool = False  # waiting callers overflow when the last agent logs out
    escalation: list[EscalationStep] = Field(default_factory=list)
    announcements: Announcements = Announcements()
    #: keys a waiting caller may press, e.g. {"1": {callback: true}, "2": {voicemail: 200@default}}
    keys: dict[str, TargetIn] = Field(default_factory=dict)
    tier: Annotated[int, Field(ge=1, le=3)] = 1
    callback: CallbackRules = CallbackRules()
    dispositions: Dispositions | None = None
    escalate_to: str | None = None  # the next tier's queue: escalations carry ticket and notes
    extension: str | None = Field(None, pattern=r"^[0-9]{2,8}$")  # agents dial it to reach the queue
    sl_seconds: Annotated[float, Field(gt=0, le=3600)] = 20  # service level: answered within
    #: what abandons do to the service level, and the quick ones not counted at all
    #: (definitions in acd/servicelevel.py; the wallboard and the reports both use them)
    sl_abandons: Abandons = "after_threshold"
    short_abandon: Annotated[float, Field(ge=0, le=60)] = 0

    @property
    def service_level(self) -> ServiceLevelRule:
        return ServiceLevelRule(self.sl_seconds, self.sl_abandons, self.short_abandon)

    def rules(self, name: str) -> QueueRules:
        steps = tuple(Step(s.after, s.min_level, s.overflow.label if s.overflow else None)
                      for s in self.escalation)
        return QueueRules(name, self.strategy, dict(self.skills), self.priority, steps)


class InternalCalls(_Strict):
    """Agent-to-agent calls: what a caller gets when the colleague cannot take the call."""

    busy: Literal["busy_tone", "voicemail", "try_later"] = "try_later"
    voicemail: str = Field("{extension}@default", pattern=r"^\S*\{extension\}\S*@\S+$")
    ring_timeout: Annotated[float, Field(gt=0, le=120)] = 20


class SurveyQuestion(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    prompt: str  # e.g. "rate us from 1 to 5": keys 1-5 answer
    lowest: Annotated[int, Field(ge=0, le=9)] = 1
    highest: Annotated[int, Field(ge=0, le=9)] = 5


class Survey(_Strict):
    """After a call closes its ticket: a short survey call, or an email when the customer
    has an address (queued in `email_outbox`; sending it is a separate, pluggable step)."""

    delay: Seconds = 60  # after the call's wrap-up
    dial: DialString = "PJSIP/{number}@trunk"
    caller_id: str = Field("", max_length=80)
    ring_timeout: Annotated[float, Field(gt=0, le=120)] = 30
    intro: str | None = None
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=5)
    thanks: str = "auth-thankyou"
    prompts: dict[str, float] = Field(default_factory=dict)  # custom prompts: name -> seconds
    email_subject: str = Field("How did we do?", max_length=200)
    email_link: str = Field("https://example.com/survey/{interaction}", max_length=300)


def _outside_ok(patterns: list[str]) -> list[str]:
    return [checked(p) for p in patterns]


class QueuesConfig(_Strict):
    queues: dict[str, Queue] = Field(min_length=1)
    #: when the contact center is open: follow-up callbacks must fall inside (a schedule,
    #: or the name of one in hours.yaml)
    hours: Schedule | str | None = None
    notes_max: Annotated[int, Field(ge=10, le=100000)] = 2000  # characters in a call's notes
    internal: InternalCalls = InternalCalls()
    survey: Survey | None = None
    outside_numbers: Annotated[list[str], AfterValidator(_outside_ok)] = Field(
        default_factory=lambda: [r"^\+?[0-9]{6,15}$"])


class AcdConfig(_Strict):
    queues: dict[str, Queue]
    skills: list[str]
    agents: list[Agent]
    hours: Schedule | None = None
    #: numbers the engine may dial out to for an external transfer, a callback or a
    #: follow-up (each a regular expression the whole number must match, e.g.
    #: '^\+34[6789][0-9]{8}$'); anything else is refused, so a transfer to a premium or
    #: foreign number cannot be made from an agent's desktop
    outside_numbers: Annotated[list[str], AfterValidator(_outside_ok)] = Field(
        default_factory=lambda: [r"^\+?[0-9]{6,15}$"])
    notes_max: int = 2000
    internal: InternalCalls = InternalCalls()
    survey: Survey | None = None

    def may_dial(self, number: str) -> bool:
        """An outside number the engine may call (outside_numbers)."""
        return any(re.fullmatch(p, number) for p in self.outside_numbers)

    def check(self, qnode: Any, anode: Any) -> list[tuple[str, Any, tuple[str | int, ...], str]]:
        """(which file, its YAML tree, location, message) for every cross-file problem."""
        out: list[tuple[str, Any, tuple[str | int, ...], str]] = []
        known = set(self.skills)
        for name, q in self.queues.items():
            for skill in q.skills:
                if skill not in known:
                    out.append(("queues", qnode, ("queues", name, "skills", skill),
                                f"unknown skill {skill!r} (agents.yaml lists {sorted(known)})"))
            if q.escalate_to is not None:
                if q.escalate_to not in self.queues:
                    out.append(("queues", qnode, ("queues", name, "escalate_to"),
                                f"unknown queue {q.escalate_to!r}"))
                elif self.queues[q.escalate_to].tier <= q.tier:
                    out.append(("queues", qnode, ("queues", name, "escalate_to"),
                                f"escalates to {q.escalate_to!r} (tier "
                                f"{self.queues[q.escalate_to].tier}), not a higher tier than "
                                f"{q.tier}"))
            targets = [q.overflow, *[s.overflow for s in q.escalation], *q.keys.values()]
            for t in targets:
                if t is not None and t.queue and t.queue not in self.queues:
                    out.append(("queues", qnode, ("queues", name),
                                f"overflow to unknown queue {t.queue!r}"))
            floor = _lowest_level(q)
            if not any(name in a.queues and all(a.skills.get(s, 0) >= min(lvl, floor)
                                                 for s, lvl in q.skills.items())
                       for a in self.agents):
                out.append(("queues", qnode, ("queues", name),
                            "no agent can take this queue's calls (queue membership and skills)"))
        for cycle in _overflow_cycles(self.queues):
            out.append(("queues", qnode, ("queues", cycle[0]),
                        "overflow loop: " + " -> ".join(cycle)))
        if self.survey is not None:
            known_prompts = set(stock_prompts()) | set(self.survey.prompts)
            wanted = [("intro", self.survey.intro), ("thanks", self.survey.thanks)]
            wanted += [(f"questions.{i}.prompt", q.prompt)
                       for i, q in enumerate(self.survey.questions)]
            for where, prompt in wanted:
                if prompt is not None and prompt not in known_prompts:
                    out.append(("queues", qnode, ("survey", *where.split(".")),
                                f"prompt {prompt!r} is neither a stock sound nor listed "
                                f"under survey.prompts"))
        seen_ids: set[str] = set()
        seen_ext: set[str] = {q.extension for q in self.queues.values() if q.extension}
        for i, a in enumerate(self.agents):
            if a.id in seen_ids:
                out.append(("agents", anode, ("agents", i, "id"), f"duplicate agent id {a.id!r}"))
            seen_ids.add(a.id)
            if a.extension:
                if a.extension in seen_ext:
                    out.append(("agents", anode, ("agents", i, "extension"),
                                f"duplicate extension {a.extension!r}"))
                seen_ext.add(a.extension)
            for skill in a.skills:
                if skill not in known:
                    out.append(("agents", anode, ("agents", i, "skills", skill),
                                f"unknown skill {skill!r}"))
            for queue in a.queues:
                if queue not in self.queues:
                    out.append(("agents", anode, ("agents", i, "queues", queue),
                                f"unknown queue {queue!r}"))
        return out


def _lowest_level(q: Queue) -> int:
    """The lowest skill level escalation will ever accept in this queue."""
    return min((s.min_level for s in q.escalation if s.min_level is not None), default=10)


def _overflow_cycles(queues: dict[str, Queue]) -> list[list[str]]:
    edges: dict[str, set[str]] = {}
    for name, q in queues.items():
        targets = [q.overflow] + [s.overflow for s in q.escalation]
        edges[name] = {t.queue for t in targets if t is not None and t.queue}
    cycles: list[list[str]] = []
    reported: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycle = [*path[path.index(nxt):], nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    cycles.append(cycle)
            elif nxt in edges:
                walk(nxt, [*path, nxt])

    for start in queues:
        walk(start, [start])
    return cycles


def load_acd(queues_path: Path, agents_path: Path,
             shared: Mapping[str, Schedule] | None = None) -> AcdConfig:
    """`shared`: the center's schedules from hours.yaml (queues.yaml `hours: office`)."""
    problems: list[str] = []
    parsed: dict[str, tuple[Any, Any]] = {}
    for label, path in (("queues", queues_path), ("agents", agents_path)):
        try:
            parsed[label] = parse_yaml(read_text(path), str(path))
        except ConfigError as exc:
            problems += exc.problems
    models: dict[str, Any] = {}
    for label, model, path in (("queues", QueuesConfig, queues_path),
                               ("agents", AgentsConfig, agents_path)):
        if label in parsed:
            try:
                models[label] = validate(model, *parsed[label], str(path))
            except ConfigError as exc:
                problems += exc.problems
    queues, agents = models.get("queues"), models.get("agents")
    if problems or queues is None or agents is None:
        raise ConfigError(problems)
    hours = queues.hours
    if isinstance(hours, str):
        named = (shared or {}).get(hours)
        if named is None:
            known = sorted(shared or {})
            raise ConfigError(problems_at(parsed["queues"][1], str(queues_path), [(
                ("hours",), f"unknown schedule {hours!r}{did_you_mean(hours, known)} "
                            f"(hours.yaml has {known or 'none: engine.yaml hours.file'})")]))
        hours = named
    config = AcdConfig(queues=queues.queues, skills=agents.skills, agents=agents.agents,
                       hours=hours, notes_max=queues.notes_max,
                       internal=queues.internal, survey=queues.survey,
                       outside_numbers=queues.outside_numbers)
    for which, node, loc, msg in config.check(parsed["queues"][1], parsed["agents"][1]):
        source = str(queues_path if which == "queues" else agents_path)
        problems += problems_at(node, source, [(loc, msg)])
    if problems:
        raise ConfigError(problems)
    return config
