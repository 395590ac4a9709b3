"""Who last edited an approved answer.

Revision ID: 0008

approved_answers gets a nullable updated_by: the server user whose edit is the current text;
NULL for an entry never edited through the server (the local CLI and app, and every row
written before this revision).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("approved_answers", sa.Column("updated_by", sa.Text))
