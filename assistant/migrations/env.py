"""Alembic's environment: runs on the connection assistant.migrations.upgrade hands it."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit(
        "deskloop migrates its database itself when it opens it (assistant.migrations)"
    )
context.configure(connection=connection, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
