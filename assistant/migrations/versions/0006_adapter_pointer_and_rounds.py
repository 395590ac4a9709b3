"""The adapter in service and the training rounds, shared by every process using the database.

Revision ID: 0006

adapter_pointer holds one row: the version in service (NULL: the base model) and the versions
it replaced, newest last (JSON). training_rounds has a row per round; the partial unique
index lets only one be 'running' at a time, which is how a round is claimed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adapter_pointer",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Text),
        sa.Column("history", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="adapter_pointer_one_row"),
    )
    op.create_table(
        "training_rounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stage", sa.Text),
        sa.Column("started_by", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("heartbeat_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text),
        sa.Column("summary", sa.Text),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed', 'abandoned')",
            name="training_rounds_status_check",
        ),
    )
    running = sa.text("status = 'running'")
    op.create_index(
        "one_running_round",
        "training_rounds",
        ["status"],
        unique=True,
        sqlite_where=running,
        postgresql_where=running,
    )
