"""Mosquitto's password and ACL files from agents.yaml (pure but for hashing).

Who may do what on the broker (prefix P):
- the engine: everything under P (it alone publishes state, stats and screen-pops, so
  nobody can forge retained data);
- an agent (and a QA person): publish only on P/agents/<own id>/commands; read their own
  P/agents/<id>/# (state, replies, screen-pop, wrap-up, preview) and the public topics:
  P/queues/+/stats and P/agents/+/presence;
- a supervisor: besides that, read everything (queues, agents, calls, campaigns) and
  publish on P/queues/+/commands and P/campaigns/+/commands;
- anyone else: nothing (the broker runs with `allow_anonymous false`).

Passwords are Mosquitto 2's `$7$` format: PBKDF2-HMAC-SHA512, 101 iterations, a random
12-byte salt (what `mosquitto_passwd` writes)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

ITERATIONS = 101


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str
    role: str  # engine, supervisor, agent, qa


def password_line(user: str, password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return (f"{user}:$7${ITERATIONS}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(digest).decode()}")


def acl(users: Iterable[BrokerUser], prefix: str) -> str:
    lines = ["# written by `centralita mqtt-acl`: regenerate it when agents.yaml changes",
             "# anonymous clients get nothing (allow_anonymous false in mosquitto.conf)", ""]
    for u in users:
        lines.append(f"user {u.name}")
        if u.role == "engine":
            lines.append(f"topic readwrite {prefix}#")
        else:
            lines += [f"topic write {prefix}agents/{u.name}/commands",
                      f"topic read {prefix}agents/{u.name}/#",
                      f"topic read {prefix}agents/+/presence",
                      f"topic read {prefix}queues/+/stats"]
            if u.role == "supervisor":
                lines += [f"topic read {prefix}queues/#", f"topic read {prefix}agents/#",
                          f"topic read {prefix}calls/#", f"topic read {prefix}campaigns/#",
                          f"topic write {prefix}queues/+/commands",
                          f"topic write {prefix}campaigns/+/commands"]
        lines.append("")
    return "\n".join(lines)


def new_password() -> str:
    return secrets.token_urlsafe(18)
