"""Reading lead lists (CSV) for a campaign, checked row by row before anything is stored.

Every row gets its number in E.164 and its possible time zones (dialer/numbers.py); a
bad row is reported with its line and why. By default one bad row stops the whole import
(nothing is stored half-way); `skip_bad` imports the good rows and reports the others.
A number twice in the file keeps its first row; the others are reported as duplicates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialer.numbers import BadNumber, callee

MAX_FIELD = 4096  # characters in one CSV field
MAX_LINE = 64 * 1024  # bytes in one line (a 10 MB line is not a lead)
MAX_PROBLEMS_SHOWN = 50
#: the lead's own columns; any other mapped name is a screen-pop field
SPECIAL = ("number", "zone", "priority")


class ImportRefused(Exception):
    """The file cannot be imported at all (encoding, header, mapping); the message says why."""


@dataclass(frozen=True, slots=True)
class ParsedLead:
    line: int
    number: str
    zones: str  # the zone key
    priority: int
    fields: dict[str, str]


@dataclass
class Parsed:
    leads: list[ParsedLead] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: why": bad rows
    duplicates: int = 0
    duplicate_lines: list[str] = field(default_factory=list)  # kept the first: not a problem
    rows: int = 0


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without a BOM) or UTF-16 with a BOM; anything else is refused with
    the line of the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportRefused(f"{source}: not valid UTF-16 at byte {exc.start}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused(f"{source}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at "
                            f"position {exc.start}); save the file as UTF-8") from None


def _lines(text: str, source: str) -> Iterator[tuple[int, str]]:
    for n, line in enumerate(io.StringIO(text), 1):
        if len(line) > MAX_LINE:
            raise ImportRefused(f"{source}:{n}: a line of {len(line):,} characters is not a "
                                f"lead (at most {MAX_LINE:,})")
        yield n, line


NUMBER_COLUMNS = ("number", "phone", "telephone", "tel", "mobile")


def default_mapping(header: list[str], source: str) -> dict[str, str]:
    """Without --map: the number from a column called number (or phone, telephone, tel,
    mobile), `zone` and `priority` by name, every other column a field of its own name."""
    out: dict[str, str] = {}
    for col in header:
        name = re.sub(r"[^a-z0-9]+", "_", col.strip().lower()).strip("_")
        if not name or not name[0].isalpha():
            continue
        if name in NUMBER_COLUMNS and "number" not in out:
            out["number"] = col
        elif name not in out and name not in NUMBER_COLUMNS:
            out[name] = col
    if "number" not in out:
        raise ImportRefused(f"{source}:1: no column for the number (call it "
                            f"{' or '.join(NUMBER_COLUMNS)}, or give --map number=<column>)")
    return out


def parse(text: str, source: str, *, mapping: Mapping[str, str] | None, region: str,
          default_priority: int = 0) -> Parsed:
    """Leads from CSV text. `mapping`: lead field -> CSV column (`number` is required;
    `zone` and `priority` optional; anything else a screen-pop field); None: from the
    header (default_mapping)."""
    if mapping is not None and "number" not in mapping:
        raise ImportRefused("the mapping needs number=<column>")
    lines = list(_lines(text, source))
    if not lines:
        raise ImportRefused(f"{source}: the file is empty")
    reader = csv.reader((line for _, line in lines), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportRefused(f"{source}:1: cannot read the header: {exc}") from None
    header = [h.strip() for h in header]
    if mapping is None:
        mapping = default_mapping(header, source)
    missing = [col for col in mapping.values() if col not in header]
    if missing:
        raise ImportRefused(f"{source}:1: no column {', '.join(repr(m) for m in missing)} "
                            f"(the header has {', '.join(repr(h) for h in header)})")
    index = {name: header.index(col) for name, col in mapping.items()}
    out = Parsed()
    seen: set[str] = set()
    try:
        for row in reader:
            out.rows += 1
            line = reader.line_num  # the record's last physical line
            if not any(cell.strip() for cell in row):
                out.rows -= 1
                continue
            lead = _lead(row, line, index, region, default_priority, out)
            if lead is None:
                continue
            if lead.number in seen:
                out.duplicates += 1
                out.duplicate_lines.append(f"line {line}: {lead.number} is already on an "
                                           "earlier line (kept the first)")
                continue
            seen.add(lead.number)
            out.leads.append(lead)
    except csv.Error as exc:
        raise ImportRefused(f"{source}:{reader.line_num}: {exc}") from None
    return out


def _lead(row: list[str], line: int, index: Mapping[str, int], region: str,
          default_priority: int, out: Parsed) -> ParsedLead | None:
    def cell(name: str) -> str:
        i = index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    if len(row) < len(index) and max(index.values()) >= len(row):
        out.problems.append(f"line {line}: {len(row)} columns, the header has more")
        return None
    too_long = next((name for name, i in index.items() if len(row[i]) > MAX_FIELD), None)
    if too_long is not None:
        out.problems.append(f"line {line}: {too_long} is over {MAX_FIELD} characters")
        return None
    try:
        who = callee(cell("number"), region=region, zone=cell("zone") or None)
    except BadNumber as exc:
        out.problems.append(f"line {line}: {exc}")
        return None
    priority = default_priority
    if cell("priority"):
        try:
            priority = int(cell("priority"))
        except ValueError:
            out.problems.append(f"line {line}: priority {cell('priority')!r} is not a number")
            return None
        if not 0 <= priority <= 100:
            out.problems.append(f"line {line}: priority {priority} is not 0-100")
            return None
    fields = {name: cell(name) for name in index if name not in SPECIAL}
    return ParsedLead(line, who.number, who.zone_key, priority, fields)


def mapping_from(pairs: list[str]) -> dict[str, str]:
    """`--map number=Phone --map name="Full name"` -> {"number": "Phone", ...}."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise ImportRefused(f"--map {pair!r}: write field=column, e.g. number=Phone")
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            raise ImportRefused(f"--map {pair!r}: a field name is letters, digits and _")
        out[name.lower()] = column
    return out


def summary(parsed: Parsed) -> dict[str, Any]:
    return {"rows": parsed.rows, "valid": len(parsed.leads), "problems": len(parsed.problems),
            "duplicates": parsed.duplicates}
