"""Reader for the recorded AMI conversations in ../shared/ami-transcripts.

Each block is `--> +T` (sent by the client) or `<-- +T` (sent by Asterisk) followed by
the message lines. Used by tests (replay, parser checks) and the ingest benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from asterisk.wire import Message

_BLOCK = re.compile(r"^(-->|<--) \+(\d+\.\d+)s$")


@dataclass(frozen=True, slots=True)
class Block:
    sent: bool  # True: client -> Asterisk
    at: float
    lines: tuple[str, ...]

    @property
    def messages(self) -> list[Message]:
        """A block read in one go may hold several messages separated by blank lines."""
        out: list[Message] = []
        pairs: list[tuple[str, str]] = []
        for line in (*self.lines, ""):
            if not line:
                if pairs:
                    out.append(Message(pairs))
                pairs = []
                continue
            key, sep, value = line.partition(": ")
            if sep:
                pairs.append((key, value))
            elif line.endswith(":"):
                pairs.append((line[:-1], ""))
        return out

    @property
    def message(self) -> Message:
        return self.messages[0]

    @property
    def wire(self) -> bytes:
        return ("\r\n".join(self.lines) + "\r\n\r\n").encode()

    @property
    def is_banner(self) -> bool:
        return len(self.lines) == 1 and self.lines[0].startswith("Asterisk Call Manager/")

    @property
    def is_close(self) -> bool:
        return len(self.lines) == 1 and self.lines[0].startswith("(connection closed")


@dataclass(frozen=True, slots=True)
class Transcript:
    name: str
    blocks: tuple[Block, ...]

    def received(self) -> list[Message]:
        return [
            m
            for b in self.blocks
            if not b.sent and not b.is_banner and not b.is_close
            for m in b.messages
        ]

    def sent(self) -> list[Block]:
        return [b for b in self.blocks if b.sent]


def load(path: Path) -> Transcript:
    blocks: list[Block] = []
    current: tuple[bool, float] | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is not None:
            while lines and not lines[-1]:
                lines.pop()
            if lines:
                blocks.append(Block(current[0], current[1], tuple(lines)))

    for raw in path.read_text(encoding="utf-8").splitlines():
        m = _BLOCK.match(raw)
        if m:
            flush()
            current = (m.group(1) == "-->", float(m.group(2)))
            lines = []
        elif current is not None:
            # Recorder annotations ("## +10.5s", "(timed out after 5s waiting)") are not AMI.
            if raw.startswith("#") or raw.startswith("(timed out"):
                continue
            lines.append(raw)
    flush()
    return Transcript(path.name.removesuffix(".ami.txt"), tuple(blocks))


def load_all(directory: Path) -> list[Transcript]:
    return [load(p) for p in sorted(directory.glob("*.ami.txt"))]
