"""Per answer: which sources it cites, each sentence's support, why it was declined (JSON).

Revision ID: 0005 (user_version 5 of the pre-Alembic store)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "turn_grounding",
        sa.Column(
            "turn_id",
            sa.Integer,
            sa.ForeignKey("turns.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("data", sa.Text, nullable=False),
    )
