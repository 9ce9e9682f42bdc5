"""`centralita asterisk-config DIR`: Asterisk's manager.conf and pjsip.conf for this
center, with generated secrets (none shipped that an admin could forget to change)."""

from __future__ import annotations

import argparse
import ipaddress
import re
import secrets
import sys
from pathlib import Path
from typing import Any, TextIO

from app.brokerfiles import write_private
from app.center import load_center
from core.settings import Settings

ETC = Path(__file__).resolve().parent.parent / "asterisk" / "etc"
PLACEHOLDER = re.compile(r"CHANGE-ME[-A-Z0-9]*")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "asterisk-config", help="write manager.conf and pjsip.conf with generated secrets",
        description="Writes DIR/manager.conf (AMI, a generated secret) and DIR/pjsip.conf "
                    "(the hardened example: trunk matched by IP only, ACLs, an endpoint per "
                    "PJSIP desk phone in agents.yaml with a generated password) and "
                    "DIR/phones.csv (each phone's SIP user and password, mode 0600).")
    p.add_argument("dir", type=Path, help="where to write the files")
    p.add_argument("--address", help="this server's SIP address (transport bind)")
    p.add_argument("--carrier", help="the carrier's SIP addresses, a network (e.g. 198.51.100.0/28)")
    p.add_argument("--phones", action="append", default=[],
                   help="a network desk phones may use (repeatable; default: 10.0.0.0/8 and "
                        "192.168.0.0/16)")
    p.add_argument("--ami-host", default="127.0.0.1", help="where the engine reaches AMI")


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        if args.address:
            ipaddress.ip_address(args.address)
        if args.carrier:
            ipaddress.ip_network(args.carrier, strict=False)
        networks = [str(ipaddress.ip_network(n, strict=False)) for n in args.phones]
    except ValueError as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 1
    made: dict[str, str] = {}

    def secret(match: re.Match[str]) -> str:
        return made.setdefault(match.group(0), secrets.token_urlsafe(18))

    pjsip = (ETC / "pjsip.conf").read_text(encoding="utf-8")
    head, _, rest = pjsip.partition("; >>> agents")
    _, _, tail = rest.partition("; <<< agents\n")
    phones: list[tuple[str, str]] = []
    blocks = []
    for agent in load_center(settings).directory:
        if not agent.device.startswith("PJSIP/"):
            continue
        name = agent.device.split("/", 1)[1]
        password = secrets.token_urlsafe(18)
        phones.append((name, password))
        shown = agent.name.replace('"', "") or name
        number = agent.extension or agent.id
        blocks.append(f"[{name}](agent-template)\nauth = {name}\naors = {name}\n"
                      f'callerid = "{shown}" <{number}>\n[{name}]\ntype = auth\n'
                      f"auth_type = userpass\nusername = {name}\npassword = {password}\n"
                      f"[{name}](aor-template)\n")
    text = head + "; agents from agents.yaml\n" + "\n".join(blocks) + tail
    text = PLACEHOLDER.sub(secret, text)
    if args.address:
        text = text.replace("bind = 192.0.2.10:5060", f"bind = {args.address}:5060")
    if args.carrier:
        text = text.replace("198.51.100.0/28", args.carrier)
    if networks:
        text = _phones(text, networks)
    manager = PLACEHOLDER.sub(secret, (ETC / "manager.conf").read_text(encoding="utf-8"))
    ami_secret = re.search(r"^secret = (\S+)", manager, re.M)
    assert ami_secret is not None
    args.dir.mkdir(parents=True, exist_ok=True)
    write_private(args.dir / "pjsip.conf", text)
    write_private(args.dir / "manager.conf", manager)
    write_private(args.dir / "phones.csv", "device,user,password\n" + "".join(
        f"PJSIP/{n},{n},{p}\n" for n, p in phones))
    print(f"{args.dir}: manager.conf, pjsip.conf ({len(phones)} desk phones), phones.csv "
          f"(secret, mode 0600)", file=out)
    if not args.address or not args.carrier:
        print("still to edit in pjsip.conf: the lines marked ADDRESS (or pass --address and "
              "--carrier)", file=out)
    print(f"AMI_URL=ami://centralita:{ami_secret.group(1)}@{args.ami_host}:5038", file=out)
    return 0


def _phones(text: str, networks: list[str]) -> str:
    """Each run of lines marked PHONES (one key) becomes one line per network given."""
    out: list[str] = []
    previous = ""
    for line in text.splitlines():
        if "; PHONES" not in line:
            out.append(line)
            previous = ""
            continue
        key = line.split("=")[0].strip()
        if key != previous:
            out += [f"{key} = {n}   ; PHONES" for n in networks]
        previous = key
    return "\n".join(out) + "\n"
