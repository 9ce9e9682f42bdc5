"""After-call work: dispositions and notes, ticket history, customer changes

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as b:
        b.add_column(sa.Column("email", sa.String(200), nullable=False, server_default=""))
        b.add_column(sa.Column("address", sa.String(500), nullable=False, server_default=""))
    with op.batch_alter_table("interactions") as b:
        b.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("flagged", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        b.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("tier", sa.Integer(), nullable=False, server_default="1"))
        b.add_column(sa.Column("queue", sa.String(64), nullable=True))
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("interaction_id", sa.String(32), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])
    op.create_table(
        "customer_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("interaction_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_customer_changes_customer_id", "customer_changes", ["customer_id"])


def downgrade() -> None:
    op.drop_table("customer_changes")
    op.drop_table("ticket_events")
    with op.batch_alter_table("tickets") as b:
        b.drop_column("queue")
        b.drop_column("tier")
    with op.batch_alter_table("interactions") as b:
        b.drop_column("ticket_id")
        b.drop_column("flagged")
        b.drop_column("notes")
    with op.batch_alter_table("customers") as b:
        b.drop_column("address")
        b.drop_column("email")
