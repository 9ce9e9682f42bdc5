"""AGI commands on a channel parked in AGI(agi:async), spelled in one place.

`AgiSession(ami, channel)` runs them one at a time (each awaited through its CommandID).
What Asterisk 20.20.1 does with them, as recorded in ../shared/ami-transcripts:
- `STREAM FILE` of a missing file ends the AGI session (the call hangs up); `GET DATA`
  of a missing file returns -1 and the call goes on: prompts are played with GET DATA.
- Keys pressed between commands are lost; a `Bridge` action freezes the running command.
- AsyncAGI polls its queue every 100 ms when no frame arrives (res/res_agi.c), so on a
  silent channel a command can wait that long before it runs.
"""

from __future__ import annotations

from typing import Protocol

from asterisk.wire import AgiResult

#: keys that interrupt a prompt or a read-back
ALL_KEYS = "0123456789*#"


class AgiRunner(Protocol):
    async def agi(self, channel: str, command: str, *, timeout: float = 300.0) -> AgiResult: ...


# --- the command lines (pure) --------------------------------------------------------------

def answer() -> str:
    return "ANSWER"


def hangup() -> str:
    return "HANGUP"


def get_data(prompt: str, timeout_ms: int = 1, max_digits: int = 1) -> str:
    """Play `prompt` (interruptible by a key) and read up to `max_digits` keys, waiting
    `timeout_ms` for each after it; `1 1` plays it and reads at most one key at once."""
    return f"GET DATA {prompt} {timeout_ms} {max_digits}"


def stream_file(prompt: str, escape: str = "") -> str:
    return f'STREAM FILE {prompt} "{escape}"'


def wait_for_digit(timeout_ms: int) -> str:
    return f"WAIT FOR DIGIT {timeout_ms}"


def say_digits(digits: str, escape: str = "") -> str:
    return f'SAY DIGITS {digits} "{escape}"'


def say_number(number: int | str, escape: str = "") -> str:
    return f'SAY NUMBER {number} "{escape}"'


def music_on(klass: str = "default") -> str:
    return f"SET MUSIC ON {klass}"


def music_off() -> str:
    return "SET MUSIC OFF"


def set_variable(name: str, value: str) -> str:
    return f"SET VARIABLE {name} {value}"


def get_variable(name: str) -> str:
    return f"GET VARIABLE {name}"


def exec_app(app: str, args: str = "") -> str:
    return f"EXEC {app} {args}".rstrip() if args else f"EXEC {app}"


def speech_create(engine: str) -> str:
    return f"SPEECH CREATE {engine}"


def speech_destroy() -> str:
    return "SPEECH DESTROY"


# --- a channel's session ------------------------------------------------------------------

class AgiSession:
    """The AGI commands the engine runs on one channel."""

    def __init__(self, ami: AgiRunner, channel: str) -> None:
        self.ami = ami
        self.channel = channel

    async def run(self, command: str, timeout: float = 120.0) -> AgiResult:
        return await self.ami.agi(self.channel, command, timeout=timeout)

    async def answer(self, timeout: float = 10.0) -> AgiResult:
        return await self.run(answer(), timeout)

    async def hangup(self, timeout: float = 10.0) -> AgiResult:
        return await self.run(hangup(), timeout)

    async def get_data(self, prompt: str, timeout_ms: int = 1, max_digits: int = 1,
                       timeout: float = 120.0) -> AgiResult:
        return await self.run(get_data(prompt, timeout_ms, max_digits), timeout)

    async def prompt(self, prompt: str, timeout: float = 120.0) -> AgiResult:
        """Play a prompt; a key pressed during it ends it (and is not kept)."""
        return await self.get_data(prompt, 1, 1, timeout)

    async def stream(self, prompt: str, escape: str = "", timeout: float = 120.0) -> AgiResult:
        return await self.run(stream_file(prompt, escape), timeout)

    async def play(self, prompt: str, timeout: float = 600.0) -> AgiResult:
        """`Playback`: not interruptible; a missing file sets PLAYBACKSTATUS=FAILED."""
        return await self.exec("Playback", prompt, timeout)

    async def wait_for_digit(self, timeout_ms: int, timeout: float = 120.0) -> AgiResult:
        return await self.run(wait_for_digit(timeout_ms), timeout)

    async def say_digits(self, digits: str, escape: str = "", timeout: float = 120.0) -> AgiResult:
        return await self.run(say_digits(digits, escape), timeout)

    async def say_number(self, number: int | str, escape: str = "",
                         timeout: float = 120.0) -> AgiResult:
        return await self.run(say_number(number, escape), timeout)

    async def music_on(self, klass: str = "default", timeout: float = 120.0) -> AgiResult:
        return await self.run(music_on(klass), timeout)

    async def music_off(self, timeout: float = 120.0) -> AgiResult:
        return await self.run(music_off(), timeout)

    async def set_variable(self, name: str, value: str, timeout: float = 120.0) -> AgiResult:
        return await self.run(set_variable(name, value), timeout)

    async def get_variable(self, name: str, timeout: float = 120.0) -> AgiResult:
        return await self.run(get_variable(name), timeout)

    async def exec(self, app: str, args: str = "", timeout: float = 600.0) -> AgiResult:
        return await self.run(exec_app(app, args), timeout)

    async def dial(self, dial_string: str, ring_seconds: int, timeout: float = 7200.0) -> AgiResult:
        """`Dial` from this channel: blocks its AGI queue until the call ends."""
        return await self.exec("Dial", f"{dial_string},{ring_seconds}", timeout)

    async def voicemail(self, box: str, options: str, timeout: float = 600.0) -> AgiResult:
        return await self.exec("VoiceMail", f"{box},{options}", timeout)
