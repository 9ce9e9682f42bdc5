"""Web passwords in the database (hashed: web/auth.py makes and checks the hashes)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.models import WebLogin
from core.store import Store


async def secret_of(store: Store, user: str) -> str | None:
    async with store.session() as s:
        row = await s.get(WebLogin, user)
        return row.secret_hash if row is not None else None


async def store_secret(store: Store, user: str, hashed: str) -> None:
    async with store.session.begin() as s:
        row = await s.get(WebLogin, user)
        now = datetime.now(UTC)
        if row is None:
            s.add(WebLogin(user_id=user, secret_hash=hashed, updated_at=now))
        else:
            row.secret_hash, row.updated_at = hashed, now
