"""customer language and tags, tickets, interaction language and data

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as b:
        b.add_column(sa.Column("language", sa.String(8), nullable=True))
        b.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("interactions") as b:
        b.add_column(sa.Column("language", sa.String(8), nullable=True))
        b.add_column(sa.Column("data", sa.JSON(), nullable=True))
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("interaction_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])


def downgrade() -> None:
    op.drop_table("tickets")
    with op.batch_alter_table("interactions") as b:
        b.drop_column("data")
        b.drop_column("language")
    with op.batch_alter_table("customers") as b:
        b.drop_column("tags")
        b.drop_column("language")
