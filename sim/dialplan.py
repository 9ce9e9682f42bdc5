"""extensions.conf and manager.conf, read with Asterisk's syntax (the subset the sim runs).

Supported: `[context]`, `exten => pattern,priority(label),App(args)`, `same => n,...`,
`n`/`n(label)`/numeric priorities, `include => ctx`, `;` comments (`\\;` escapes),
patterns `_X.`, `_NXX`, `_Z!`, `[1-5]`, and `${VAR}` / `${CALLERID(num)}` substitution.
Where Asterisk orders pattern matches by specificity, the sim takes an exact match first,
then patterns in file order; the project's dialplan does not depend on the difference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asterisk.patterns import compile_pattern
from sim.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Step:
    priority: int
    label: str | None
    app: str
    args: str
    line: int


@dataclass(slots=True)
class Extension:
    pattern: str
    steps: dict[int, Step] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    regex: re.Pattern[str] | None = None

    def matches(self, exten: str) -> bool:
        if self.regex is None:
            return exten == self.pattern
        return self.regex.fullmatch(exten) is not None


@dataclass(slots=True)
class Context:
    name: str
    extensions: list[Extension] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Dialplan:
    contexts: dict[str, Context]
    source: str = "<memory>"

    def find(self, context: str, exten: str, _seen: frozenset[str] = frozenset()) -> Extension | None:
        ctx = self.contexts.get(context)
        if ctx is None or context in _seen:
            return None
        for ext in ctx.extensions:
            if ext.regex is None and ext.pattern == exten:
                return ext
        for ext in ctx.extensions:
            if ext.regex is not None and ext.matches(exten):
                return ext
        for inc in ctx.includes:
            found = self.find(inc, exten, _seen | {context})
            if found is not None:
                return found
        return None

    def step(self, context: str, exten: str, priority: int) -> Step | None:
        ext = self.find(context, exten)
        return None if ext is None else ext.steps.get(priority)

    def label(self, context: str, exten: str, label: str) -> int | None:
        ext = self.find(context, exten)
        return None if ext is None else ext.labels.get(label)


def _strip_comment(line: str) -> str:
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if line[i] == ";":
            break
        out.append(line[i])
        i += 1
    return "".join(out).strip()


def _split_app(text: str) -> tuple[str, str]:
    text = text.strip()
    paren = text.find("(")
    if paren < 0:
        return text, ""
    if not text.endswith(")"):
        raise ValueError(f"application call has no closing parenthesis: {text}")
    return text[:paren].strip(), text[paren + 1 : -1]


def parse_dialplan(text: str, source: str = "<memory>") -> Dialplan:
    contexts: dict[str, Context] = {}
    ctx: Context | None = None
    last: Extension | None = None
    last_prio = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        where = f"{source}:{lineno}"
        if line.startswith("["):
            name = line[1 : line.index("]")] if "]" in line else ""
            if not name:
                raise ConfigError(f"{where}: bad context header {raw.strip()!r}")
            ctx = None if name in ("general", "globals") else contexts.setdefault(name, Context(name))
            last, last_prio = None, 0
            continue
        if ctx is None:
            continue  # [general]/[globals] settings
        key, sep, value = line.partition("=>")
        if not sep:
            key, sep, value = line.partition("=")
        key = key.strip().lower()
        value = value.strip()
        try:
            if key == "include":
                ctx.includes.append(value)
            elif key == "exten":
                pattern, prio_text, app_text = (p.strip() for p in value.split(",", 2))
                ext = next((e for e in ctx.extensions if e.pattern == pattern), None)
                if ext is None:
                    ext = Extension(pattern, regex=compile_pattern(pattern))
                    ctx.extensions.append(ext)
                if prio_text.lower() == "hint":
                    continue
                last = ext
                last_prio = _add_step(ext, prio_text, app_text, last_prio, lineno)
            elif key == "same":
                if last is None:
                    raise ValueError("'same =>' with no extension before it")
                prio_text, app_text = (p.strip() for p in value.split(",", 1))
                last_prio = _add_step(last, prio_text, app_text, last_prio, lineno)
            else:
                raise ValueError(f"unknown directive {key!r}")
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return Dialplan(contexts, source)


def _add_step(ext: Extension, prio_text: str, app_text: str, last_prio: int, lineno: int) -> int:
    label = None
    m = re.fullmatch(r"(\w+|n)(?:\((\w+)\))?", prio_text)
    if not m:
        raise ValueError(f"bad priority {prio_text!r}")
    prio = last_prio + 1 if m.group(1) == "n" else int(m.group(1))
    label = m.group(2)
    app, args = _split_app(app_text)
    ext.steps[prio] = Step(prio, label, app, args, lineno)
    if label:
        ext.labels[label] = prio
    return prio


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None


def load_dialplan(path: Path) -> Dialplan:
    return parse_dialplan(_read(path, "dialplan"), str(path))


_VAR = re.compile(r"\$\{([^${}]+)\}")


def separate_args(text: str, delim: str = ",") -> list[str]:
    """main/app.c __ast_app_separate_args with remove_chars: `delim` splits, except inside
    "quotes", (parentheses) or [brackets]; quotes and backslashes are removed, a backslash
    keeps the next character as it is. As Originate's Variable header is read (on 20.20.1
    `Variable: CENTRALITA_AMD=2500,1500,...` arrived as 2500; quoted, whole)."""
    args: list[str] = []
    cur: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            paren += 1
        elif ch == ")":
            paren = max(0, paren - 1)
        elif ch == "[":
            bracket += 1
        elif ch == "]":
            bracket = max(0, bracket - 1)
        elif ch == '"' and delim != '"':
            quote = not quote
            i += 1
            continue
        elif ch == "\\":
            i += 1
            if i < len(text):
                cur.append(text[i])
            i += 1
            continue
        elif ch == delim and not paren and not quote and not bracket:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if cur or text.endswith(delim):
        args.append("".join(cur))
    return args


def substitute(text: str, lookup: Mapping[str, str]) -> str:
    """Expand `${NAME}` and `${FUNC(arg)}` from `lookup` (names as written, e.g. CALLERID(num))."""
    for _ in range(5):  # nested ${${X}} resolves inside-out
        new = _VAR.sub(lambda m: lookup.get(m.group(1), ""), text)
        if new == text:
            break
        text = new
    return text


@dataclass(frozen=True, slots=True)
class ManagerConfig:
    users: dict[str, str]  # username -> secret
    port: int = 5038
    bindaddr: str = "127.0.0.1"


def parse_manager_conf(text: str, source: str = "<memory>") -> ManagerConfig:
    users: dict[str, str] = {}
    section: str | None = None
    port, bindaddr = 5038, "127.0.0.1"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("["):
            if "]" not in line:
                raise ConfigError(f"{source}:{lineno}: bad section header {raw.strip()!r}")
            section = line[1 : line.index("]")]
            if section != "general":
                users.setdefault(section, "")
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{source}:{lineno}: expected 'key = value', got {raw.strip()!r}")
        key, value = key.strip().lower(), value.strip()
        if section == "general":
            if key == "port":
                try:
                    port = int(value)
                except ValueError:
                    raise ConfigError(f"{source}:{lineno}: port is not a number: {value!r}") from None
            elif key == "bindaddr":
                bindaddr = value
        elif section is not None and key == "secret":
            users[section] = value
    return ManagerConfig({u: s for u, s in users.items() if s}, port, bindaddr)


def load_manager_conf(path: Path) -> ManagerConfig:
    return parse_manager_conf(_read(path, "manager.conf"), str(path))
