"""People who use a deskloop server, and who did what.

Revision ID: 0007

users holds one row per person: a role (agent or admin) and the sha256 of their token (the
token itself is shown once and never stored). conversations, turns, feedback and
adapter_pointer get a nullable actor: the user name the server acted for; NULL for what the
local CLI and app did, and for every row written before this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTOR_TABLES = ("conversations", "turns", "feedback", "adapter_pointer")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("revoked_at", sa.Text),
        sa.CheckConstraint("role IN ('agent', 'admin')", name="users_role_check"),
    )
    for table in ACTOR_TABLES:
        op.add_column(table, sa.Column("actor", sa.Text))
