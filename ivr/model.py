"""The IVR as an admin writes it (config/ivr.yaml), validated.

Beyond field types, `check` walks the menu graph: unknown node references, nodes no
entry point reaches, loops with no way out to a route, prompts that neither the admin
declared nor a stock Asterisk ships, bad time zones and bad patterns. Every problem
names file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from asterisk.patterns import compile_pattern
from asterisk.sounds import stock_prompts
from core.errors import ConfigError
from core.safepatterns import checked
from core.schedule import Schedule
from core.suggest import did_you_mean
from core.yamlconf import parse_yaml, problems_at, read_text, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: A prompt: one name for every language, or one per language ({en: ..., es: ...}).
PromptRef = str | dict[str, str]
KEYS = set("0123456789*#")


class Route(_Strict):
    """Where a node leads: another node (`goto`) or a route that ends the IVR."""

    goto: str | None = None
    queue: str | None = None
    agent: str | None = None
    voicemail: str | None = None  # mailbox@context
    message: list[PromptRef] | None = None  # play, then hang up
    external: str | None = None
    callback: bool = False  # record a callback request for the caller's number, then hang up
    hangup: bool = False
    # What travels with a queued call to the ACD.
    skills: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=dict)
    priority: int = Field(0, ge=0, le=100)
    language: str | None = None  # set the call's language on the way
    device: str | None = None  # the agent's dial string (until the ACD knows agents)

    @model_validator(mode="after")
    def _one_kind(self) -> Route:
        kinds = [k for k in ("goto", "queue", "agent", "voicemail", "message", "external")
                 if getattr(self, k)] + (["callback"] if self.callback else []) \
            + (["hangup"] if self.hangup else [])
        if len(kinds) != 1:
            raise ValueError("a route needs exactly one of goto, queue, agent, voicemail, "
                             f"message, external, callback, hangup (got {kinds or 'none'})")
        if self.external is not None and not re.fullmatch(r"\+?[0-9]{3,20}", self.external):
            raise ValueError(f"external number must be digits (optionally +): {self.external!r}")
        if self.agent is not None and not self.device:
            raise ValueError("an agent route needs the agent's device (e.g. PJSIP/agent1001)")
        return self

    @property
    def kind(self) -> str:
        for k in ("goto", "queue", "agent", "voicemail", "message", "external", "callback"):
            if getattr(self, k):
                return k
        return "hangup"


def _as_route(value: Any) -> Any:
    return {"goto": value} if isinstance(value, str) else value


#: In YAML a route is a node name (`billing`) or a mapping (`{queue: support}`).
RouteIn = Annotated[Route, BeforeValidator(_as_route)]


class MenuNode(_Strict):
    type: Literal["menu"]
    prompts: list[PromptRef] = Field(min_length=1)
    options: dict[str, RouteIn] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=10)
    invalid_prompt: PromptRef | None = "invalid"
    timeout_prompt: PromptRef | None = None
    repeat_key: str | None = "*"
    back_key: str | None = None
    operator: RouteIn | None = None  # key 0
    fallback: RouteIn

    @field_validator("options")
    @classmethod
    def _keys(cls, v: dict[str, Route]) -> dict[str, Route]:
        for key in v:
            if not key or set(key) - KEYS or len(key) > 4:
                raise ValueError(f"option key {key!r} must be 1-4 of 0-9 * #")
        return v


class CaptureNode(_Strict):
    type: Literal["capture"]
    prompt: PromptRef
    field: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    min_digits: int = Field(1, ge=1, le=64)
    max_digits: int = Field(16, ge=1, le=64)
    terminator: Literal["#", "*"] | None = "#"
    timeout: float = Field(6.0, gt=0, le=60)
    inter_digit_timeout: float = Field(3.0, gt=0, le=30)
    retries: int = Field(2, ge=0, le=10)
    pattern: str | None = None
    luhn: bool = False
    lookup: Literal["customer_account"] | None = None
    confirm: bool = False
    readback: Literal["digits", "number"] = "digits"  # SAY DIGITS 1-2-3 or SAY NUMBER 123
    confirm_prompt: PromptRef = "if-correct-press"
    invalid_prompt: PromptRef | None = "invalid"
    mask: bool = False  # keep only the last 4 digits in events and records
    payment: bool = False  # card data: recording pauses while it is collected
    next: RouteIn
    fallback: RouteIn

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        return checked(v) if v is not None else None

    @model_validator(mode="after")
    def _lengths(self) -> CaptureNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is more than max_digits")
        return self


class ScheduleNode(_Strict):
    type: Literal["schedule"]
    schedule: str
    open: RouteIn
    closed: RouteIn


class Rule(_Strict):
    when: str = Field(pattern=r"^(vip|known|unknown|open_ticket|tag:[\w-]+|language:[a-z]{2,3})$")
    then: RouteIn


class BranchNode(_Strict):
    type: Literal["branch"]
    rules: list[Rule] = Field(min_length=1)
    default: RouteIn


class LanguageNode(_Strict):
    type: Literal["language"]
    language: str | None = None  # None: the customer's language, if known
    next: RouteIn


Node = Annotated[MenuNode | CaptureNode | ScheduleNode | BranchNode | LanguageNode,
                 Field(discriminator="type")]


class EntryPoint(_Strict):
    dnis: str | None = None  # exact number or Asterisk pattern (_X.)
    caller: str | None = None  # regular expression on the caller's number
    menu: str
    language: str | None = None

    @field_validator("dnis")
    @classmethod
    def _dnis(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compile_pattern(v)
            except (ValueError, re.error) as exc:
                raise ValueError(f"bad DNIS pattern: {exc}") from None
        return v

    @field_validator("caller")
    @classmethod
    def _caller(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"bad caller pattern: {exc}") from None
        return v


class Speech(_Strict):
    engine: str | None = None  # an Asterisk speech engine (res_speech_*); None: DTMF only


class IvrConfig(_Strict):
    language: str = Field("en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    languages: list[str] = Field(default_factory=lambda: ["en"])
    prompts: dict[str, float] = Field(default_factory=dict)  # the admin's own recordings
    entry: list[EntryPoint] = Field(default_factory=list)
    default_menu: str
    operator: RouteIn | None = None
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    nodes: dict[str, Node] = Field(min_length=1)
    external_dial: str = "PJSIP/{number}@trunk"
    max_steps: int = Field(60, ge=5, le=1000)
    speech: Speech = Speech()

    @field_validator("external_dial")
    @classmethod
    def _dial(cls, v: str) -> str:
        if "{number}" not in v:
            raise ValueError("external_dial must contain {number}")
        return v

    # --- graph ----------------------------------------------------------------------

    def routes_of(self, name: str) -> list[tuple[tuple[str | int, ...], Route]]:
        """Every route out of a node, with its location under the node."""
        node = self.nodes[name]
        out: list[tuple[tuple[str | int, ...], Route]] = []
        if isinstance(node, MenuNode):
            out += [(("options", k), r) for k, r in node.options.items()]
            out.append((("fallback",), node.fallback))
            if node.operator is not None:
                out.append((("operator",), node.operator))
            elif self.operator is not None and "0" not in node.options:
                out.append((("operator",), self.operator))
        elif isinstance(node, CaptureNode):
            out += [(("next",), node.next), (("fallback",), node.fallback)]
        elif isinstance(node, ScheduleNode):
            out += [(("open",), node.open), (("closed",), node.closed)]
        elif isinstance(node, BranchNode):
            out += [(("rules", i, "then"), r.then) for i, r in enumerate(node.rules)]
            out.append((("default",), node.default))
        else:
            out.append((("next",), node.next))
        return out

    def prompts_of(self, name: str) -> list[tuple[tuple[str | int, ...], PromptRef]]:
        node = self.nodes[name]
        out: list[tuple[tuple[str | int, ...], PromptRef]] = []
        if isinstance(node, MenuNode):
            out += [(("prompts", i), p) for i, p in enumerate(node.prompts)]
            out += [((k,), p) for k, p in (("invalid_prompt", node.invalid_prompt),
                                          ("timeout_prompt", node.timeout_prompt)) if p]
        elif isinstance(node, CaptureNode):
            out.append((("prompt",), node.prompt))
            if node.confirm:
                out.append((("confirm_prompt",), node.confirm_prompt))
            if node.invalid_prompt:
                out.append((("invalid_prompt",), node.invalid_prompt))
        for loc, route in self.routes_of(name):
            for i, p in enumerate(route.message or []):
                out.append(((*loc, "message", i), p))
        return out

    def check(self) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        starts = [("default_menu",), *[("entry", i, "menu") for i in range(len(self.entry))]]
        for loc in starts:
            target = self.default_menu if len(loc) == 1 else self.entry[int(loc[1])].menu
            if target not in self.nodes:
                problems.append((loc, f"unknown node {target!r}"))
        for name in self.nodes:
            node = self.nodes[name]
            if isinstance(node, ScheduleNode) and node.schedule not in self.schedules:
                problems.append((("nodes", name, "schedule"), f"unknown schedule "
                                 f"{node.schedule!r}{did_you_mean(node.schedule, self.schedules)}"))
            for loc, route in self.routes_of(name):
                if route.goto is not None and route.goto not in self.nodes:
                    problems.append((("nodes", name, *loc), f"unknown node {route.goto!r}"
                                     f"{did_you_mean(route.goto, self.nodes)}"))
            for loc, prompt in self.prompts_of(name):
                for lang, file in _prompt_files(prompt, self.languages):
                    if file not in self.prompts and file not in stock_prompts():
                        problems.append((("nodes", name, *loc),
                                         f"prompt {file!r} ({lang}) is neither declared under "
                                         "`prompts:` nor a stock Asterisk sound"))
        if problems:
            return problems
        reachable = self._reachable()
        for name in self.nodes:
            if name not in reachable:
                problems.append((("nodes", name), "unreachable: no entry point leads here"))
        exits = self._can_exit()
        for name in self.nodes:  # in file order, so the report reads top to bottom
            if name in reachable and name not in exits:
                problems.append((("nodes", name), "loop with no exit: every path from here "
                                 "returns to menus without reaching a route"))
        return problems

    def _reachable(self) -> set[str]:
        todo = [self.default_menu, *[e.menu for e in self.entry]]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen or name not in self.nodes:
                continue
            seen.add(name)
            todo += [r.goto for _, r in self.routes_of(name) if r.goto]
        return seen

    def _can_exit(self) -> set[str]:
        exits = {n for n in self.nodes if any(r.goto is None for _, r in self.routes_of(n))}
        changed = True
        while changed:
            changed = False
            for n in self.nodes:
                if n not in exits and any(r.goto in exits for _, r in self.routes_of(n)):
                    exits.add(n)
                    changed = True
        return exits


def _prompt_files(prompt: PromptRef, languages: list[str]) -> list[tuple[str, str]]:
    if isinstance(prompt, str):
        return [("all", prompt)]
    return [(lang, prompt[lang]) if lang in prompt else (lang, f"<missing for {lang}>")
            for lang in languages]


def load_ivr(path: Path, shared: Mapping[str, Schedule] | None = None) -> IvrConfig:
    """`shared`: the center's schedules from hours.yaml, which nodes may name."""
    text = read_text(path)
    return parse_ivr(text, str(path), shared)


def parse_ivr(text: str, source: str, shared: Mapping[str, Schedule] | None = None) -> IvrConfig:
    data, node = parse_yaml(text, source)
    config = validate(IvrConfig, data, node, source)
    if shared:
        twice = [(("schedules", name), "also defined in hours.yaml: define business hours "
                  "once (hours.yaml) and name them here") for name in config.schedules
                 if name in shared]
        if twice:
            raise ConfigError(problems_at(node, source, twice))
        config = config.model_copy(update={"schedules": {**shared, **config.schedules}})
    problems = config.check()
    if problems:
        raise ConfigError(problems_at(node, source, problems))
    return config
