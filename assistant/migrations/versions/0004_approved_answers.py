"""Approved answers; a turn may be served from one (status 'approved', approved_id).

Revision ID: 0004 (user_version 4 of the pre-Alembic store)

SQLite cannot alter a CHECK constraint, so there turns is copied into a new table; the
upgrade runs with foreign keys off, so dropping the old table cascades nowhere, and the
rename makes the other tables' references point at the new one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = "'complete', 'cancelled', 'declined', 'error', 'approved'"
TURNS_COLUMNS = (
    "id, conversation_id, role, content, status, created_at, prompt_tokens, completion_tokens,"
    " first_token_ms, latency_ms, model_id, adapter_version"
)


def upgrade() -> None:
    op.create_table(
        "approved_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.Text),
        sa.Column(
            "turn_id", sa.Integer, sa.ForeignKey("turns.id", ondelete="SET NULL"), unique=True
        ),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("embedding_model", sa.Text),
        sa.CheckConstraint("origin IN ('good', 'correction')", name="approved_origin_check"),
    )
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("turns_status_check", "turns", type_="check")
        op.create_check_constraint("turns_status_check", "turns", f"status IN ({STATUSES})")
        op.add_column("turns", sa.Column("approved_id", sa.Integer))
        return
    for statement in (
        f"""CREATE TABLE turns_new (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ({STATUSES})),
            created_at TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            first_token_ms REAL,
            latency_ms REAL,
            model_id TEXT,
            adapter_version TEXT,
            approved_id INTEGER
        )""",
        f"INSERT INTO turns_new ({TURNS_COLUMNS}) SELECT {TURNS_COLUMNS} FROM turns",
        "DROP TABLE turns",
        "ALTER TABLE turns_new RENAME TO turns",
        "CREATE INDEX turns_by_conversation ON turns(conversation_id, id)",
    ):
        op.execute(statement)
