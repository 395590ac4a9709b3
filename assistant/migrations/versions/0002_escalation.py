"""A conversation can be escalated, with a note.

Revision ID: 0002 (user_version 2 of the pre-Alembic store)
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("escalated_at", sa.Text))
    op.add_column("conversations", sa.Column("escalation_note", sa.Text))
