"""`centralita mqtt-acl DIR`: the broker's password and ACL files for this center."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from app.center import load_center
from core.brokeracl import BrokerUser, acl, new_password, password_line
from core.settings import Settings


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "mqtt-acl", help="write Mosquitto's password and ACL files from agents.yaml",
        description="Writes DIR/passwd (hashed) and DIR/acl for Mosquitto, DIR/credentials.csv "
                    "(each person's MQTT password, for their desktop; mode 0600) and "
                    "DIR/engine.password (for mqtt.password_file). Passwords already in "
                    "credentials.csv are kept unless --rotate.")
    p.add_argument("dir", type=Path, help="where to write the files")
    p.add_argument("--engine-user", default="centralita-engine",
                   help="the engine's broker user (mqtt.username in engine.yaml)")
    p.add_argument("--rotate", action="store_true", help="new passwords for everyone")


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    directory = load_center(settings).directory
    users = [BrokerUser(args.engine_user, "engine")]
    for agent in sorted(directory, key=lambda a: a.id):
        if agent.id == args.engine_user:
            print(f"centralita: agent id {agent.id!r} is the engine's broker user; choose "
                  f"another --engine-user", file=sys.stderr)
            return 1
        users.append(BrokerUser(agent.id, agent.role))
    target: Path = args.dir
    target.mkdir(parents=True, exist_ok=True)
    known: dict[str, str] = {}
    creds = target / "credentials.csv"
    if creds.exists() and not args.rotate:
        with creds.open(encoding="utf-8") as f:
            known = {row["user"]: row["password"] for row in csv.DictReader(f)}
    passwords = {u.name: known.get(u.name) or new_password() for u in users}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["user", "role", "password"])
    for u in users:
        writer.writerow([u.name, u.role, passwords[u.name]])
    write_private(creds, buf.getvalue())
    write_private(target / "engine.password", passwords[args.engine_user] + "\n")
    write_private(target / "passwd", "".join(password_line(u.name, passwords[u.name]) + "\n"
                                       for u in users))
    (target / "acl").write_text(acl(users, settings.mqtt.prefix), encoding="utf-8")
    fresh = sum(1 for u in users if u.name not in known)
    print(f"{target}: passwd and acl for {len(users)} users ({fresh} new password(s)); "
          f"credentials.csv and engine.password are secret (mode 0600)", file=out)
    print(f"engine.yaml: mqtt: {{username: {args.engine_user}, password_file: "
          f"{(target / 'engine.password').resolve()}}}", file=out)
    return 0


def write_private(path: Path, text: str) -> None:
    """Written so that it is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)
