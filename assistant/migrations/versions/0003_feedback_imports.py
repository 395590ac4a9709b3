"""Imported conversations (origin) and the stable train/eval split.

Revision ID: 0003 (user_version 3 of the pre-Alembic store)
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("origin", sa.Text, nullable=False, server_default="chat")
    )
    op.create_table(
        "split_assignments",
        sa.Column("conversation_id", sa.Text, primary_key=True),
        sa.Column("split", sa.Text, nullable=False),
        sa.CheckConstraint("split IN ('train', 'eval')", name="split_assignments_split_check"),
    )
