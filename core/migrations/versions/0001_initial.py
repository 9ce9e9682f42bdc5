"""customers, interactions, call_events, outbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_customers_number", "customers", ["number"], unique=True)
    op.create_table(
        "interactions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("caller_num", sa.String(64), nullable=False),
        sa.Column("caller_name", sa.String(200), nullable=False),
        sa.Column("dnis", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("entered_at", TS, nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("wrapup_s", sa.Float(), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("ticket_status", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
    )
    op.create_index("ix_interactions_entered_at", "interactions", ["entered_at"])
    op.create_table(
        "call_events",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_call_events_call_id", "call_events", ["call_id"])
    op.create_index("ix_call_events_call_seq", "call_events", ["call_id", "seq"], unique=True)
    op.create_table(
        "outbox",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("call_events")
    op.drop_table("interactions")
    op.drop_table("customers")
