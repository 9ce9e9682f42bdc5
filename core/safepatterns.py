"""Patterns from config that cannot stall the engine (pure): IVR captures, allowed numbers.

Python's `re` backtracks: `(\\d*)*x` against 28 digits takes seconds, against 64 for
ever, and the event loop (every call) waits. A capture pattern is refused when it could
do that: a repeated group (`*`, `+`, `{m,}`, `{m,n}` with n > 1) whose inside itself
repeats or has alternatives (`|`), back-references and look-arounds, and anything over
200 characters. What remains matches in time linear in the digits typed (at most 64)."""

from __future__ import annotations

LONGEST = 200


def _quantifier_at(p: str, i: int) -> tuple[int, bool]:
    """(length of the quantifier at p[i], whether it repeats more than once); (0, False)
    when there is none."""
    if i >= len(p):
        return 0, False
    c = p[i]
    if c in "*+":
        return 1 + (i + 1 < len(p) and p[i + 1] in "?+"), True
    if c == "?":
        return 1 + (i + 1 < len(p) and p[i + 1] in "?+"), False
    if c == "{":
        end = p.find("}", i)
        if end == -1:
            return 0, False
        body = p[i + 1:end]
        low, comma, high = body.partition(",")
        if not low.strip().isdigit() and not (comma and low == ""):
            return 0, False
        many = bool(comma) and (high.strip() == "" or int(high) > 1) if comma else int(low) > 1
        return end - i + 1, many
    return 0, False


def unsafe(pattern: str) -> str | None:
    """Why `pattern` could backtrack badly, or None when it cannot."""
    if len(pattern) > LONGEST:
        return f"longer than {LONGEST} characters"
    # each open group: does its inside repeat or branch?
    stack: list[dict[str, bool]] = [{"repeats": False, "branches": False}]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern) and pattern[i + 1].isdigit() and pattern[i + 1] != "0":
                return "back-references are not allowed"
            i += 2
            size, many = _quantifier_at(pattern, i)
            stack[-1]["repeats"] |= many
            i += size
            continue
        if c == "[":  # a class is one character, whatever it holds
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] == "]" else i + 1)
            i = (end if end != -1 else len(pattern) - 1) + 1
            size, many = _quantifier_at(pattern, i)
            stack[-1]["repeats"] |= many
            i += size
            continue
        if c == "(":
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                return "look-arounds are not allowed"
            stack.append({"repeats": False, "branches": False})
            i += 1
            continue
        if c == ")":
            inner = stack.pop() if len(stack) > 1 else {"repeats": False, "branches": False}
            i += 1
            size, many = _quantifier_at(pattern, i)
            if many and (inner["repeats"] or inner["branches"]):
                what = "repeats" if inner["repeats"] else "has alternatives"
                return (f"a repeated group whose inside {what} (at character {i}): it can "
                        f"backtrack for seconds on a long input; write it without nesting")
            stack[-1]["repeats"] |= many or inner["repeats"]
            stack[-1]["branches"] |= inner["branches"]
            i += size
            continue
        if c == "|":
            stack[-1]["branches"] = True
        i += 1
        size, many = _quantifier_at(pattern, i)
        stack[-1]["repeats"] |= many
        i += size
    return None


def checked(pattern: str) -> str:
    """`pattern` if it compiles and cannot backtrack badly; else ValueError saying why
    (for the config models' validators)."""
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
    why = unsafe(pattern)
    if why is not None:
        raise ValueError(f"unsafe pattern {pattern!r}: {why}")
    return pattern
