"""The dialer: leads, their attempts, and the do-not-call list.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(32), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("zones", sa.String(200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="new"),
        sa.Column("dial_rank", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("tries", sa.JSON(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_outcome", sa.String(32), nullable=False, server_default=""),
        sa.Column("last_call_id", sa.String(32), nullable=True),
        sa.Column("agent", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_leads_campaign_number", "leads", ["campaign", "number"], unique=True)
    op.create_index("ix_leads_hopper", "leads",
                    ["campaign", "dial_rank", "zones", sa.text("priority DESC"), "next_at"])
    op.create_index("ix_leads_campaign_state", "leads", ["campaign", "state"])
    op.create_table(
        "lead_zones",
        sa.Column("campaign", sa.String(32), primary_key=True),
        sa.Column("zones", sa.String(200), primary_key=True),
    )
    op.create_table(
        "lead_attempts",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("lead_id", BIG, nullable=False),
        sa.Column("campaign", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
        sa.Column("human", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("abandoned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("amd_status", sa.String(16), nullable=False, server_default=""),
        sa.Column("amd_cause", sa.String(64), nullable=False, server_default=""),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("amd_s", sa.Float(), nullable=True),
        sa.Column("dead_air_ms", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("wrapup_s", sa.Float(), nullable=True),
        sa.Column("agent", sa.String(32), nullable=True),
    )
    op.create_index("ix_lead_attempts_lead_id", "lead_attempts", ["lead_id"])
    op.create_index("ix_lead_attempts_campaign_at", "lead_attempts", ["campaign", "at"])
    op.create_table(
        "dnc",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("campaign", sa.String(32), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_dnc_number_campaign", "dnc", ["number", "campaign"], unique=True)


def downgrade() -> None:
    op.drop_table("dnc")
    op.drop_table("lead_attempts")
    op.drop_table("lead_zones")
    op.drop_table("leads")
