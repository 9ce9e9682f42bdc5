"""Reports and the web pages: indexes the reports aggregate by, web logins.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # interval and queue reports range over queued_at; first-contact resolution looks
    # for the same number's next call; agent reports go by agent and time
    op.create_index("ix_interactions_queued_at", "interactions", ["queued_at"])
    op.create_index("ix_interactions_caller_entered", "interactions", ["caller_num", "entered_at"])
    op.create_index("ix_interactions_agent_connected", "interactions", ["agent", "connected_at"])
    op.create_index("ix_call_events_kind_at", "call_events", ["kind", "at"])
    op.create_index("ix_agent_state_changes_agent_at", "agent_state_changes", ["agent_id", "at"])
    op.create_table(
        "web_logins",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(200), nullable=False),  # scrypt, salted
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_logins")
    op.drop_index("ix_agent_state_changes_agent_at", "agent_state_changes")
    op.drop_index("ix_call_events_kind_at", "call_events")
    op.drop_index("ix_interactions_agent_connected", "interactions")
    op.drop_index("ix_interactions_caller_entered", "interactions")
    op.drop_index("ix_interactions_queued_at", "interactions")
