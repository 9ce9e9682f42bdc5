"""Callbacks the engine owes customers (kept place in a queue, follow-ups)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("origin_call_id", sa.String(32), nullable=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("last_call_id", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callbacks_origin_call_id", "callbacks", ["origin_call_id"])
    op.create_index("ix_callbacks_due_at", "callbacks", ["due_at"])
    op.create_index("ix_callbacks_status", "callbacks", ["status"])


def downgrade() -> None:
    op.drop_table("callbacks")
