"""The IVR state machine: `step(config, state, caller, event, now) -> (state, actions)`.

Pure: no I/O, no clock of its own. The service (ivr/service.py) turns the actions into
AGI commands and feeds back what happened (keys, timeouts, failed prompts, look-ups).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from asterisk.patterns import matches
from core.schedule import is_open
from ivr.model import (
    BranchNode,
    CaptureNode,
    IvrConfig,
    LanguageNode,
    MenuNode,
    PromptRef,
    Route,
    ScheduleNode,
)

# --- what the IVR knows, what happens, what it decides -------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    number: str
    dnis: str
    known: bool = False
    vip: bool = False
    open_ticket: bool = False
    language: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Keys:
    """What a Collect got: the digits (terminator removed) and whether it timed out."""

    digits: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class PromptFailed:
    prompt: str


@dataclass(frozen=True, slots=True)
class LookedUp:
    found: bool


Event = Keys | PromptFailed | LookedUp


@dataclass(frozen=True, slots=True)
class SetLanguage:
    language: str


@dataclass(frozen=True, slots=True)
class Collect:
    prompts: tuple[str, ...]
    max_digits: int
    timeout: float
    inter_digit_timeout: float
    terminator: str | None = None
    payment: bool = False


@dataclass(frozen=True, slots=True)
class SayDigits:
    digits: str
    as_number: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Record:
    kind: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Capture:
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class HandOver:
    """Card data (a `payment: true` capture), for the payment step only: the value goes
    nowhere else (the call's data, events, screen-pop and log get it masked)."""

    field: str
    value: str = dataclasses.field(repr=False)


@dataclass(frozen=True, slots=True)
class Finish:
    route: Route
    language: str


Action = SetLanguage | Collect | SayDigits | Lookup | Record | Capture | HandOver | Finish


@dataclass(frozen=True, slots=True)
class IvrState:
    node: str
    language: str
    attempts: int = 0
    steps: int = 0
    phase: str = "collect"  # collect | confirm | lookup | done
    pending: str = field(default="", repr=False)  # may be card data: never in a repr
    stack: tuple[str, ...] = ()
    path: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.phase == "done"


# --- entry ----------------------------------------------------------------------------------


def entry_for(config: IvrConfig, dnis: str, number: str) -> tuple[str, str | None]:
    for entry in config.entry:
        if entry.dnis is not None and not matches(entry.dnis, dnis):
            continue
        if entry.caller is not None and not re.search(entry.caller, number or ""):
            continue
        return entry.menu, entry.language
    return config.default_menu, None


def start(config: IvrConfig, caller: Caller, now: datetime) -> tuple[IvrState, list[Action]]:
    menu, language = entry_for(config, caller.dnis, caller.number)
    lang = language or config.language
    state = IvrState(node=menu, language=lang)
    actions: list[Action] = [Record("ivr.started", {"menu": menu, "language": lang})]
    if language:  # the number dialled decides the language (e.g. a Spanish DID)
        actions.append(SetLanguage(lang))
    return _enter(config, state, caller, now, actions)


def start_at(config: IvrConfig, node: str, caller: Caller, now: datetime,
             language: str | None = None) -> tuple[IvrState, list[Action]]:
    """Menus from `node` on (an agent transferred the caller there, e.g. to pay)."""
    if node not in config.nodes:
        raise KeyError(f"no IVR node {node!r}")
    lang = language or config.language
    state = IvrState(node=node, language=lang)
    return _enter(config, state, caller, now,
                  [Record("ivr.started", {"menu": node, "language": lang, "transferred": True})])


# --- stepping -------------------------------------------------------------------------------


def step(config: IvrConfig, state: IvrState, caller: Caller, event: Event,
         now: datetime) -> tuple[IvrState, list[Action]]:
    if state.done:
        return state, []
    node = config.nodes[state.node]
    if isinstance(event, PromptFailed):
        actions: list[Action] = [Record("ivr.prompt_failed", {"node": state.node,
                                                               "prompt": event.prompt})]
        return _follow(config, state, caller, now, _fallback(node), actions)
    if isinstance(node, MenuNode) and isinstance(event, Keys):
        return _menu_keys(config, state, caller, now, node, event)
    if isinstance(node, CaptureNode):
        if isinstance(event, LookedUp) and state.phase == "lookup":
            if event.found:
                return _captured_ok(config, state, caller, now, node, state.pending)
            return _retry(config, state, caller, now, node, "ivr.not_found",
                          {"node": state.node, "field": node.field})
        if isinstance(event, Keys):
            if state.phase == "confirm":
                return _confirm_keys(config, state, caller, now, node, event)
            return _capture_keys(config, state, caller, now, node, event)
    return state, []  # an event the current phase does not expect: ignore it


def _fallback(node: object) -> Route:
    if isinstance(node, MenuNode | CaptureNode):
        return node.fallback
    return Route(hangup=True)


def _menu_keys(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
               node: MenuNode, keys: Keys) -> tuple[IvrState, list[Action]]:
    digits = keys.digits
    if not digits:
        return _retry(config, state, caller, now, node, "ivr.timeout",
                      {"node": state.node, "attempt": state.attempts + 1})
    actions: list[Action] = [Record("ivr.key", {"node": state.node, "digits": digits})]
    if digits in node.options:
        return _follow(config, state, caller, now, node.options[digits], actions)
    if node.repeat_key and digits == node.repeat_key:
        actions.append(Record("ivr.repeat", {"node": state.node}))
        return state, [*actions, _collect_for(config, state, node)]
    if node.back_key and digits == node.back_key and state.stack:
        back = state.stack[-1]
        actions.append(Record("ivr.back", {"node": state.node, "to": back}))
        new = replace(state, node=back, attempts=0, stack=state.stack[:-1])
        return _enter(config, new, caller, now, actions, push=False)
    operator = node.operator or config.operator
    if digits == "0" and operator is not None:
        actions.append(Record("ivr.operator", {"node": state.node}))
        return _follow(config, state, caller, now, operator, actions)
    return _retry(config, state, caller, now, node, "ivr.invalid",
                  {"node": state.node, "digits": digits, "attempt": state.attempts + 1},
                  actions)


def _capture_keys(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
                  node: CaptureNode, keys: Keys) -> tuple[IvrState, list[Action]]:
    value = keys.digits
    if not value:
        return _retry(config, state, caller, now, node, "ivr.timeout",
                      {"node": state.node, "attempt": state.attempts + 1})
    problem = validate_capture(node, value)
    if problem:
        return _retry(config, state, caller, now, node, "ivr.invalid",
                      {"node": state.node, "digits": _mask(node, value), "reason": problem,
                       "attempt": state.attempts + 1})
    if node.lookup:
        return replace(state, phase="lookup", pending=value), [Lookup(node.field, value)]
    return _captured_ok(config, state, caller, now, node, value)


def _captured_ok(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
                 node: CaptureNode, value: str) -> tuple[IvrState, list[Action]]:
    if node.confirm and state.phase != "confirm":
        prompt = _prompt(config, state, node.confirm_prompt)
        # card data is read back by its last four digits only: AGI commands cross AMI in
        # clear, so reading the whole number back would put it on the wire
        said = value[-4:] if node.payment else value
        return replace(state, phase="confirm", pending=value), [
            SayDigits(said, as_number=node.readback == "number" and not node.payment),
            Collect((prompt,), 1, node.timeout, node.inter_digit_timeout)]
    actions: list[Action] = [HandOver(node.field, value)] if node.payment else []
    actions += [
        Capture(node.field, _mask(node, value) if node.payment else value),
        Record("ivr.captured", {"node": state.node, "field": node.field,
                                "value": _mask(node, value)}),
    ]
    done = replace(state, phase="collect", pending="")
    return _follow(config, done, caller, now, node.next, actions)


def _confirm_keys(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
                  node: CaptureNode, keys: Keys) -> tuple[IvrState, list[Action]]:
    if keys.digits == "1":
        actions: list[Action] = [Record("ivr.confirmed", {"node": state.node})]
        state2, more = _captured_ok(config, state, caller, now, node, state.pending)
        return state2, actions + more
    return _retry(config, replace(state, phase="collect", pending=""), caller, now, node,
                  "ivr.not_confirmed", {"node": state.node, "digits": keys.digits})


def validate_capture(node: CaptureNode, value: str) -> str:
    """Why a captured value is not acceptable ('' when it is)."""
    if not value.isdigit():
        return "not digits"
    if not node.min_digits <= len(value) <= node.max_digits:
        return f"length {len(value)} not in {node.min_digits}-{node.max_digits}"
    if node.pattern and not re.fullmatch(node.pattern, value):
        return "does not match the pattern"
    if node.luhn and not luhn_ok(value):
        return "check digit wrong"
    return ""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask(node: CaptureNode, value: str) -> str:
    return "*" * max(0, len(value) - 4) + value[-4:] if node.mask or node.payment else value


def _retry(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
           node: MenuNode | CaptureNode, kind: str, data: dict[str, object],
           actions: list[Action] | None = None) -> tuple[IvrState, list[Action]]:
    actions = [*(actions or []), Record(kind, data)]
    attempts = state.attempts + 1
    if attempts > node.retries:
        actions.append(Record("ivr.retries_exhausted", {"node": state.node, "attempts": attempts}))
        return _follow(config, replace(state, attempts=attempts), caller, now, node.fallback, actions)
    state = replace(state, attempts=attempts, phase="collect", pending="")
    lead = node.timeout_prompt if isinstance(node, MenuNode) and kind == "ivr.timeout" \
        else node.invalid_prompt
    return state, [*actions, _collect_for(config, state, node, lead)]


# --- entering nodes ---------------------------------------------------------------------------


def _follow(config: IvrConfig, state: IvrState, caller: Caller, now: datetime, route: Route,
            actions: list[Action]) -> tuple[IvrState, list[Action]]:
    if route.language and route.language != state.language:
        state = replace(state, language=route.language)
        actions = [*actions, SetLanguage(route.language),
                   Record("ivr.language", {"language": route.language})]
    if route.goto is not None:
        new = replace(state, node=route.goto, attempts=0, phase="collect", pending="",
                      stack=(*state.stack, state.node))
        return _enter(config, new, caller, now, actions, push=False)
    record = Record("ivr.route", {
        "kind": route.kind, "target": route_target(route), "skills": dict(route.skills),
        "priority": route.priority, "language": state.language, "from": state.node})
    return replace(state, phase="done"), [*actions, record, Finish(route, state.language)]


def route_target(route: Route) -> str:
    value = getattr(route, route.kind, None)
    if route.kind == "message":
        return ",".join(str(p) for p in route.message or [])
    return "" if value is None or value is True or value is False else str(value)


def _enter(config: IvrConfig, state: IvrState, caller: Caller, now: datetime,
           actions: list[Action], *, push: bool = True) -> tuple[IvrState, list[Action]]:
    steps = state.steps + 1
    if steps > config.max_steps:
        actions = [*actions, Record("ivr.loop_guard", {"node": state.node, "steps": steps})]
        return replace(state, phase="done"), [*actions, Finish(Route(hangup=True), state.language)]
    state = replace(state, steps=steps, path=(*state.path, state.node))
    node = config.nodes[state.node]
    actions = [*actions, Record("ivr.entered", {"node": state.node, "type": node.type})]
    if isinstance(node, ScheduleNode):
        open_ = is_open(config.schedules[node.schedule], now)
        actions.append(Record("ivr.schedule", {"node": state.node, "open": open_}))
        return _follow(config, state, caller, now, node.open if open_ else node.closed, actions)
    if isinstance(node, BranchNode):
        for _i, rule in enumerate(node.rules):
            if _holds(rule.when, caller):
                actions.append(Record("ivr.branch", {"node": state.node, "rule": rule.when}))
                return _follow(config, state, caller, now, rule.then, actions)
        actions.append(Record("ivr.branch", {"node": state.node, "rule": "default"}))
        return _follow(config, state, caller, now, node.default, actions)
    if isinstance(node, LanguageNode):
        lang = node.language or (caller.language if caller.language in config.languages else None)
        route = node.next.model_copy(update={"language": lang}) if lang else node.next
        return _follow(config, state, caller, now, route, actions)
    assert isinstance(node, MenuNode | CaptureNode)
    return state, [*actions, _collect_for(config, state, node)]


def _holds(when: str, caller: Caller) -> bool:
    if when == "vip":
        return caller.vip
    if when == "known":
        return caller.known
    if when == "unknown":
        return not caller.known
    if when == "open_ticket":
        return caller.open_ticket
    kind, _, value = when.partition(":")
    if kind == "tag":
        return value in caller.tags
    return kind == "language" and caller.language == value


def _prompt(config: IvrConfig, state: IvrState, prompt: PromptRef) -> str:
    if isinstance(prompt, str):
        return prompt
    return prompt.get(state.language) or prompt.get(config.language) or next(iter(prompt.values()))


def _collect_for(config: IvrConfig, state: IvrState, node: MenuNode | CaptureNode,
                 lead: PromptRef | None = None) -> Collect:
    first = (_prompt(config, state, lead),) if lead else ()
    if isinstance(node, MenuNode):
        prompts = first + tuple(_prompt(config, state, p) for p in node.prompts)
        longest = max(len(k) for k in node.options)
        return Collect(prompts, longest, node.timeout, min(node.timeout, 3.0),
                       "#" if longest > 1 else None)
    return Collect((*first, _prompt(config, state, node.prompt)), node.max_digits, node.timeout,
                   node.inter_digit_timeout, node.terminator, node.payment)
