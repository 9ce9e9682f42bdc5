"""Alembic environment: runs on the connection the engine hands over (see core/store.py)."""

from __future__ import annotations

from alembic import context

from core.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `centralita db upgrade` (core.store.migrate)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
