"""AMI wire format: framing bytes into messages, messages into typed values, actions into bytes.

Ground truth is ../shared/ami-transcripts: header names are matched case-insensitively
(`CommandID` in the AGI action comes back as `CommandId`), messages end with a blank
line (CRLF CRLF), and AsyncAGI payloads are URL-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from asterisk.errors import AmiProtocolError

EOL = b"\r\n"
TERMINATOR = b"\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
#: A frame longer than this is dropped: no real AMI message comes near it, and an
#: unbounded buffer would let one bad peer exhaust memory.
DEFAULT_MAX_FRAME = 256 * 1024

HeaderValue = str | Sequence[str]


class Message:
    """One AMI message (response or event) with case-insensitive header access.

    `pairs` keeps the headers as received (spelling and order, repeats included);
    lookups go through `index`, keyed by the lower-cased name, first occurrence wins
    (read it directly on hot paths; do not change it).
    """

    __slots__ = ("index", "pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        index: dict[str, str] = {}
        for key, value in pairs:
            index.setdefault(key.lower(), value)
        self.index = index

    @classmethod
    def of(cls, **headers: str) -> Message:
        return cls(list(headers.items()))

    def get(self, name: str, default: str = "") -> str:
        return self.index.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self.index[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.index

    def getall(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.pairs if k.lower() == low]

    @property
    def event(self) -> str:
        return self.index.get("event", "")

    @property
    def response(self) -> str:
        return self.index.get("response", "")

    @property
    def action_id(self) -> str:
        return self.index.get("actionid", "")

    @property
    def is_event(self) -> bool:
        return "event" in self.index

    @property
    def is_response(self) -> bool:
        return "response" in self.index and "event" not in self.index

    def names(self) -> list[str]:
        return [k for k, _ in self.pairs]

    def as_dict(self) -> dict[str, str]:
        return dict(self.pairs)

    def __repr__(self) -> str:
        head = self.event or self.response or "?"
        return f"<Message {head} {len(self.pairs)} headers>"


def parse_message(frame: bytes) -> Message:
    """Parse one frame (without its blank-line terminator).

    Invalid UTF-8 is replaced rather than rejected: a caller name in Latin-1 must not
    cost us the call's events. A line without ': ' is kept with an empty value when it
    has a ':' (Asterisk writes `AccountCode: ` with a trailing space, but some modules
    write `Key:`), and otherwise ignored.
    """
    text = frame.decode("utf-8", "replace")
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            append((key, value))
        elif line.endswith(":"):
            append((line[:-1], ""))
    return Message(pairs)


class FrameReader:
    """Splits a byte stream into AMI frames; bounded and tolerant of garbage."""

    __slots__ = ("_buf", "_discarding", "banner", "max_frame", "oversized")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, expect_banner: bool = True) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame
        self.banner: str | None = None if expect_banner else ""
        self._discarding = False
        #: how many frames were dropped for being too large
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        if self.banner is None:
            end = buf.find(EOL)
            if end < 0:
                if len(buf) > 1024:
                    raise AmiProtocolError("no AMI banner in the first 1 KiB", got=bytes(buf[:60]))
                return []
            line = bytes(buf[:end]).decode("utf-8", "replace")
            if not line.startswith(BANNER_PREFIX):
                raise AmiProtocolError("peer is not an AMI server", got=line[:80])
            self.banner = line
            del buf[: end + 2]
        if self._discarding:
            # Skip the rest of an oversized frame; keep 3 bytes for a split terminator.
            end = buf.find(TERMINATOR)
            if end < 0:
                del buf[:-3]
                return []
            del buf[: end + 4]
            self._discarding = False
        frames: list[bytes] = []
        start = 0
        while True:
            end = buf.find(TERMINATOR, start)
            if end < 0:
                break
            if end > start:
                frames.append(bytes(buf[start:end]))
            start = end + 4
        if start:
            del buf[:start]
        if len(buf) > self.max_frame:
            self.oversized += 1
            self._discarding = True
            del buf[:-3]
        return frames


def _check_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise AmiProtocolError("header value contains a line break", header=name)
    return value


def format_action(action: str, headers: Mapping[str, HeaderValue] | None = None) -> bytes:
    """Serialise an action. List values become repeated headers (Variable: a=1, b=2)."""
    lines = [f"Action: {_check_value('Action', action)}"]
    if headers:
        for name, value in headers.items():
            if isinstance(value, str):
                lines.append(f"{name}: {_check_value(name, value)}")
            else:
                lines.extend(f"{name}: {_check_value(name, v)}" for v in value)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def format_message(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialise a response or event (used by the simulated PBX)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode("utf-8")


# --- AsyncAGI payloads -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgiResult:
    """The outcome of one AGI command, decoded from AsyncAGIExec's `Result`.

    `200 result=1 (5551234)` -> code=200, result="1", data="5551234";
    `200 result=0 endpos=11360` -> endpos=11360; `510 Invalid or unknown command`
    -> code=510, message="Invalid or unknown command".
    """

    code: int
    result: str = ""
    data: str | None = None
    endpos: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def value(self) -> int:
        """`result=` as an integer (-1 means failure or hang-up in most commands)."""
        try:
            return int(self.result)
        except ValueError:
            return -1

    @property
    def digits(self) -> str:
        """Digits collected by GET DATA (`result=` is the string of keys)."""
        return "" if self.result == "-1" else self.result

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_agi_result(raw: str) -> AgiResult:
    text = unquote(raw).strip()
    code_text, _, rest = text.partition(" ")
    if "-" in code_text:  # "520-Invalid command syntax..." multi-line usage reply
        code_text, _, more = code_text.partition("-")
        rest = f"{more} {rest}".strip()
    try:
        code = int(code_text)
    except ValueError as exc:
        raise AmiProtocolError("AGI result does not start with a status code", got=text[:80]) from exc
    if code != 200:
        return AgiResult(code=code, message=rest.split("\n", 1)[0])
    result = ""
    data: str | None = None
    endpos: int | None = None
    for key, value in _agi_pairs(rest):
        if key == "result":
            result = value
        elif key == "endpos":
            try:
                endpos = int(value)
            except ValueError:
                endpos = None
        elif key == "(data)":
            data = value
    return AgiResult(code=200, result=result, data=data, endpos=endpos)


def _agi_pairs(rest: str) -> Iterator[tuple[str, str]]:
    i, n = 0, len(rest)
    while i < n:
        if rest[i] == " ":
            i += 1
        elif rest[i] == "(":
            close = rest.find(")", i)
            close = n if close < 0 else close
            yield "(data)", rest[i + 1 : close]
            i = close + 1
        else:
            end = rest.find(" ", i)
            end = n if end < 0 else end
            key, _, value = rest[i:end].partition("=")
            yield key, value
            i = end


def parse_agi_env(raw: str) -> dict[str, str]:
    """Decode AsyncAGIStart's `Env` into {'agi_channel': ..., 'agi_callerid': ...}."""
    env: dict[str, str] = {}
    for line in unquote(raw).split("\n"):
        key, sep, value = line.partition(": ")
        if sep:
            env[key] = value
        elif line.endswith(":"):
            env[line[:-1]] = ""
    return env


#: Asterisk's ast_uri_encode(ast_uri_http) leaves RFC 3986 "unreserved" and "mark" chars.
_URI_SAFE = "!*'()"


def encode_agi_env(env: Mapping[str, str]) -> str:
    return quote("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n", safe=_URI_SAFE)


def encode_agi_result(code: int, text: str) -> str:
    return quote(f"{code} {text}\n", safe=_URI_SAFE)
