"""Who may see which page: hashed passwords, sessions that expire, roles (pure but for
the hashing, which is CPU only).

Passwords are set with `centralita passwd ID` and kept hashed (scrypt, a random salt
each) in the database, never in the YAML; people with the roles `supervisor` and `qa` in
agents.yaml may log in. Sessions live in the engine's memory: a restart logs everyone
out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace

#: scrypt's cost: ~50 ms per check on these machines (slows guessing, not a person)
N, R, P = 2**14, 8, 1
#: the pages each role may open
PAGES: dict[str, frozenset[str]] = {
    "supervisor": frozenset({"wallboard", "reports", "live"}),
    "qa": frozenset({"reports"}),
}
MAX_SESSIONS = 1000  # a login flood cannot grow memory without bound
FAILURES_ALLOWED = 5  # per user, then refused for LOCKOUT seconds
LOCKOUT = 300.0


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=N, r=R, p=P,
                             dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def good_secret(secret: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(secret) < 10:
        return "a password needs at least 10 characters"
    if len(secret) > 200:
        return "a password has at most 200 characters"
    return None


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    role: str
    expires: float


@dataclass(slots=True)
class Sessions:
    """Tokens to sessions; each use pushes the expiry `ttl` seconds on."""

    ttl: float
    by_token: dict[str, Session] = field(default_factory=dict)
    failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def open(self, user: str, role: str, now: float) -> str:
        self.sweep(now)
        if len(self.by_token) >= MAX_SESSIONS:  # the oldest go first
            for token, _ in sorted(self.by_token.items(), key=lambda kv: kv[1].expires)[:100]:
                del self.by_token[token]
        token = secrets.token_urlsafe(32)
        self.by_token[token] = Session(user, role, now + self.ttl)
        self.failures.pop(user, None)
        return token

    def get(self, token: str | None, now: float) -> tuple[Session | None, str]:
        """The session and, when there is none, why: `missing`, `unknown`, `expired`."""
        if not token:
            return None, "missing"
        s = self.by_token.get(token)
        if s is None:
            return None, "unknown"
        if s.expires <= now:
            del self.by_token[token]
            return None, "expired"
        s = replace(s, expires=now + self.ttl)
        self.by_token[token] = s
        return s, ""

    def close(self, token: str | None) -> None:
        if token:
            self.by_token.pop(token, None)

    def sweep(self, now: float) -> None:
        for token in [t for t, s in self.by_token.items() if s.expires <= now]:
            del self.by_token[token]

    def locked(self, user: str, now: float) -> bool:
        count, since = self.failures.get(user, (0, now))
        if now - since > LOCKOUT:
            self.failures.pop(user, None)
            return False
        return count >= FAILURES_ALLOWED

    def failed(self, user: str, now: float) -> None:
        count, since = self.failures.get(user, (0, now))
        if now - since > LOCKOUT:
            count, since = 0, now
        if len(self.failures) < 10_000 or user in self.failures:
            self.failures[user] = (count + 1, since)


def may(session: Session, page: str) -> bool:
    return page in PAGES.get(session.role, frozenset())
