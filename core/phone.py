"""The phone layer: codes people dial from their desk phones (`*21` log in, `*31` listen,
or a colleague's extension) and keys they press during a call (`*7` pause the recording,
`*2<ext>#` transfer).

Each service registers the codes it answers; one accumulator per channel collects keys
and hands a finished code to its owner, so two services never read the same key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asterisk.events import AmiEvent, DTMFEnd, Hangup
from core.events import CallStarted

DialHandler = Callable[[CallStarted], None]
#: (channel, code, what was keyed between the code and its terminator) -> it was yours
KeyHandler = Callable[[str, str, str], bool]


class FeatureCodes:
    """Calls from desk phones: `*` codes by longest registered prefix; anything else is a
    number (a colleague, a queue)."""

    def __init__(self, context: str) -> None:
        self.context = context
        self._codes: dict[str, DialHandler] = {}
        self._number: DialHandler | None = None

    def on(self, prefix: str, handler: DialHandler) -> None:
        if not prefix.startswith("*"):
            raise ValueError(f"feature codes start with *: {prefix!r}")
        if prefix in self._codes:
            raise ValueError(f"feature code {prefix!r} is registered twice")
        self._codes[prefix] = handler

    def on_number(self, handler: DialHandler) -> None:
        self._number = handler

    def started(self, ev: CallStarted) -> None:
        if ev.context != self.context or ev.adopted:
            return
        if not ev.dnis.startswith("*"):
            if self._number is not None:
                self._number(ev)
            return
        for end in range(len(ev.dnis), 0, -1):
            handler = self._codes.get(ev.dnis[:end])
            if handler is not None:
                handler(ev)
                return


@dataclass(frozen=True, slots=True)
class _KeyCode:
    code: str
    terminator: str | None
    handler: KeyHandler


class Keypad:
    """Keys an agent presses during a call (DTMF `Received` on their leg), collected per
    channel within `window` seconds and dispatched once a registered code is complete:
    exact codes (`*7`) at once, codes with a terminator (`*2` ... `#`) at the terminator."""

    def __init__(self, clock: Callable[[], float], *, window: float = 5.0) -> None:
        self.clock = clock
        self.window = window
        self._codes: dict[str, _KeyCode] = {}
        self._keys: dict[str, tuple[str, float]] = {}  # channel -> (keys so far, when)

    def on(self, code: str, handler: KeyHandler, *, terminator: str | None = None) -> None:
        if not code.startswith("*") or len(code) != 2:
            raise ValueError(f"in-call codes are * and one key: {code!r}")
        if code in self._codes:
            raise ValueError(f"in-call code {code!r} is registered twice")
        self._codes[code] = _KeyCode(code, terminator, handler)

    def on_event(self, ev: AmiEvent) -> None:
        if isinstance(ev, DTMFEnd):
            if ev.direction == "Received":
                self.pressed(ev.channel, ev.digit)
        elif isinstance(ev, Hangup):
            self._keys.pop(ev.channel, None)

    def pressed(self, channel: str, digit: str) -> None:
        keys, at = self._keys.get(channel, ("", 0.0))
        now = self.clock()
        keys = (keys if now - at < self.window else "") + digit
        keys = keys[keys.rfind("*"):] if "*" in keys else ""
        if not keys:
            self._keys.pop(channel, None)
            return
        self._keys[channel] = (keys, now)
        spec = self._codes.get(keys[:2])
        if spec is None:
            return
        if spec.terminator is None:
            done, body = keys == spec.code, ""
        else:
            done = len(keys) > 3 and keys.endswith(spec.terminator)
            body = keys[2:-len(spec.terminator)]
        if done and spec.handler(channel, spec.code, body):
            self._keys.pop(channel, None)
