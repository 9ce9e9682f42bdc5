"""Asterisk dialplan extension patterns (`_X.`, `_NXX`, `_[1-5]Z!`) as regular expressions."""

from __future__ import annotations

import re

_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """A regex for an `_`-pattern; None for a literal extension. ValueError if malformed."""
    if not pattern.startswith("_"):
        return None
    out: list[str] = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in ".!":
            # main/pbx.c (_extension_match_core): `.` and `!` match the rest of the number,
            # whatever follows them in the pattern (on 20.20.1 `_X.1` matched 12127365002).
            out.append(_CHARS[ch])
            break
        if ch.upper() in _CHARS:
            out.append(_CHARS[ch.upper()])
        elif ch == "[":
            close = body.find("]", i)
            if close < 0:
                raise ValueError(f"unclosed [ in pattern {pattern}")
            out.append("[" + re.sub(r"[\\^]", lambda m: "\\" + m.group(0), body[i + 1 : close]) + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


def matches(pattern: str, exten: str) -> bool:
    rx = compile_pattern(pattern)
    return exten == pattern if rx is None else rx.fullmatch(exten) is not None
