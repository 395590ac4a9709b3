"""Conversations, turns with their provenance, the sources each answer was given, feedback.

Revision ID: 0001 (user_version 1 of the pre-Alembic store)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Text,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="complete"),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("first_token_ms", sa.Float),
        sa.Column("latency_ms", sa.Float),
        sa.Column("model_id", sa.Text),
        sa.Column("adapter_version", sa.Text),
        sa.CheckConstraint("role IN ('user', 'assistant')", name="turns_role_check"),
        sa.CheckConstraint(
            "status IN ('complete', 'cancelled', 'declined', 'error')", name="turns_status_check"
        ),
    )
    op.create_index("turns_by_conversation", "turns", ["conversation_id", "id"])
    op.create_table(
        "turn_sources",
        sa.Column(
            "turn_id", sa.Integer, sa.ForeignKey("turns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("chunk_id", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("section", sa.Text),
        sa.Column("kind", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("similarity", sa.Float),
        sa.Column("text", sa.Text),
        sa.PrimaryKeyConstraint("turn_id", "n"),
    )
    op.create_table(
        "feedback",
        sa.Column(
            "turn_id",
            sa.Integer,
            sa.ForeignKey("turns.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("rating", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("correction", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.CheckConstraint("rating IN ('good', 'bad')", name="feedback_rating_check"),
    )
