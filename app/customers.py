"""`centralita customers import FILE.csv`: the customer records agents see on screen-pop,
checked row by row and stored all or nothing.

Columns (a header row names them; `--map field=column` when yours differ): number
(required; national numbers read in --region), name, account, email, address, language
(en, es, ...), tags (separated by ';'), notes. A bad row is reported as `file:line:
column: why` and nothing is stored; a number twice in the file is an error too. Numbers
already known are updated only with --update (each changed field kept in
customer_changes), otherwise left as they are and counted."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import phonenumbers
from sqlalchemy import select

from core.models import Customer, CustomerChange
from core.settings import Settings
from core.store import Store, ts
from dialer.leads import ImportRefused, decode

FIELDS = {"number": 64, "name": 200, "account": 64, "email": 200, "address": 500,
          "language": 8, "tags": 500, "notes": 4000}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
MAX_ROWS = 1_000_000
SHOWN = 50


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("customers", help="import customer records (screen-pop) from a CSV file",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["import"], help="import: read FILE into customers")
    p.add_argument("file", type=Path, help="the CSV file (UTF-8, a header row)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read FIELD from COLUMN (e.g. number=phone)")
    p.add_argument("--region", default="ES", help="country of national numbers (ES, GB, US...)")
    p.add_argument("--update", action="store_true", help="update customers already known")
    p.add_argument("--dry-run", action="store_true", help="check and count; store nothing")


@dataclass
class Row:
    line: int
    values: dict[str, Any]


@dataclass
class Read:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read(text: str, source: str, mapping: dict[str, str], region: str) -> Read:
    out = Read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ImportRefused(f"{source}: empty file (a header row names the columns)")
    columns = {name.strip().lower(): i for i, name in enumerate(header)}
    wanted = {f: mapping.get(f, f).lower() for f in FIELDS}
    if wanted["number"] not in columns:
        raise ImportRefused(f"{source}:1: no {wanted['number']!r} column (columns: "
                            f"{', '.join(header)}; --map number=COLUMN)")
    unknown = sorted(set(columns) - set(wanted.values()))
    if unknown:
        raise ImportRefused(f"{source}:1: unknown column(s) {', '.join(unknown)} (known: "
                            f"{', '.join(FIELDS)}; --map FIELD=COLUMN)")
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(out.rows) >= MAX_ROWS:
            raise ImportRefused(f"{source}: more than {MAX_ROWS:,} rows: split the file")
        values: dict[str, Any] = {}
        bad = False
        for f, limit in FIELDS.items():
            i = columns.get(wanted[f])
            value = raw[i].strip() if i is not None and i < len(raw) else ""
            if len(value) > limit:
                out.problems.append(f"{source}:{line}: {wanted[f]}: {len(value)} characters (at "
                                    f"most {limit})")
                bad = True
                continue
            values[f] = value
        if bad:
            continue
        why = _check(values, region)
        if why:
            out.problems.append(f"{source}:{line}: {why}")
            continue
        number = values["number"]
        if number in seen:
            out.problems.append(f"{source}:{line}: number {number} is already on line "
                                f"{seen[number]}")
            continue
        seen[number] = line
        out.rows.append(Row(line, values))
    return out


def _check(values: dict[str, Any], region: str) -> str:
    raw = values["number"]
    if not raw:
        return "number: empty"
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return f"number: {raw!r} is not a phone number"
    if not phonenumbers.is_valid_number(parsed):
        return f"number: {raw!r} is not a valid number in {region} or in E.164"
    values["number"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if values["email"] and not EMAIL.match(values["email"]):
        return f"email: {values['email']!r} is not an e-mail address"
    if values["language"] and not LANGUAGE.match(values["language"]):
        return f"language: {values['language']!r} is not a language code (en, es, pt_BR)"
    values["tags"] = [t.strip() for t in values["tags"].split(";") if t.strip()]
    values["language"] = values["language"] or None
    return ""


async def store_rows(store: Store, rows: list[Row], *, update: bool, dry_run: bool
                     ) -> tuple[int, int, int]:
    """(new, updated, unchanged or left as they were), in one transaction."""
    new = updated = same = 0
    now = ts(time.time())
    async with store.session.begin() as s:
        numbers = [r.values["number"] for r in rows]
        known: dict[str, Customer] = {}
        for i in range(0, len(numbers), 500):
            for c in await s.scalars(select(Customer).where(Customer.number.in_(numbers[i:i + 500]))):
                known[c.number] = c
        for r in rows:
            v = r.values
            found = known.get(v["number"])
            if found is None:
                new += 1
                if not dry_run:
                    s.add(Customer(number=v["number"], name=v["name"], account=v["account"],
                                   email=v["email"], address=v["address"], notes=v["notes"],
                                   language=v["language"], tags=v["tags"], created_at=now))
                continue
            c = found
            changes = {f: v[f] for f in ("name", "account", "email", "address", "notes",
                                         "language", "tags") if v[f] and getattr(c, f) != v[f]}
            if not changes or not update:
                same += 1
                continue
            updated += 1
            if dry_run:
                continue
            for f, value in changes.items():
                s.add(CustomerChange(customer_id=c.id, at=now, field=f, old=str(getattr(c, f) or ""),
                                     new=str(value), agent=None, interaction_id=None))
                setattr(c, f, value)
        if dry_run:
            await s.rollback()
    return new, updated, same


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        mapping = dict(m.split("=", 1) for m in args.map)
    except ValueError:
        print("centralita: --map takes FIELD=COLUMN", file=sys.stderr)
        return 1
    bad = sorted(set(mapping) - set(FIELDS))
    if bad:
        print(f"centralita: --map: unknown field(s) {', '.join(bad)} (known: {', '.join(FIELDS)})",
              file=sys.stderr)
        return 1
    try:
        data = args.file.read_bytes()
        parsed = read(decode(data, str(args.file)), str(args.file), mapping, args.region.upper())
    except OSError as exc:
        print(f"centralita: {args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    except ImportRefused as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 1
    if parsed.problems:
        for problem in parsed.problems[:SHOWN]:
            print(problem, file=sys.stderr)
        more = len(parsed.problems) - SHOWN
        print(f"centralita: {len(parsed.problems)} bad row(s){f' ({more} more not shown)' if more > 0 else ''}; "
              f"nothing imported", file=sys.stderr)
        return 1

    async def go() -> tuple[int, int, int]:
        store = Store(settings.database.url)
        try:
            await store.migrate()
            return await store_rows(store, parsed.rows, update=args.update, dry_run=args.dry_run)
        finally:
            await store.close()

    new, updated, same = asyncio.run(go())
    left = "unchanged" if args.update else "already known (--update to change them)"
    print(f"{args.file}: {len(parsed.rows)} row(s): {new} new, {updated} updated, {same} {left}"
          f"{' (dry run: nothing stored)' if args.dry_run else ''}", file=out)
    return 0
