"""ACD: queue times on interactions, agent state changes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as b:
        b.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("agent_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_state_changes_agent_id", "agent_state_changes", ["agent_id"])
    op.create_index("ix_agent_state_changes_at", "agent_state_changes", ["at"])


def downgrade() -> None:
    op.drop_table("agent_state_changes")
    with op.batch_alter_table("interactions") as b:
        b.drop_column("connected_at")
        b.drop_column("offered_at")
        b.drop_column("queued_at")
