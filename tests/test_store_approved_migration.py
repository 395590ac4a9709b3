"""The approved-answers step (user_version 4): turns rebuilt for 'approved', nothing lost."""

import sqlite3

from legacy_store_schema import APPROVED_ANSWERS, STEPS, build

from assistant.migrations import head
from assistant.store import AnswerRecord, Store


def old_database(path) -> sqlite3.Connection:
    """A store at the schema just before the approved answers, with a flagged exchange."""
    db = build(path, STEPS.index(APPROVED_ANSWERS))
    db.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c1', 't', 'x', 'x')"
    )
    db.execute(
        "INSERT INTO turns (id, conversation_id, role, content, created_at)"
        " VALUES (1, 'c1', 'user', 'How do I pair?', 'x')"
    )
    db.execute(
        "INSERT INTO turns (id, conversation_id, role, content, status, created_at, model_id,"
        " latency_ms) VALUES (2, 'c1', 'assistant', 'Hold the button.', 'declined', 'x', 'm', 9.5)"
    )
    db.execute("INSERT INTO turn_sources (turn_id, n, chunk_id, source) VALUES (2, 1, 'k', 's.md')")
    db.execute(
        "INSERT INTO feedback (turn_id, rating, correction, created_at)"
        " VALUES (2, 'bad', 'Hold it 5 s.', 'x')"
    )
    db.commit()
    return db


def snapshot(db: sqlite3.Connection, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    return {
        table: db.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
        for table, names in columns.items()
    }


def test_upgrade_rebuilds_turns_and_keeps_every_row_and_foreign_key(tmp_path):
    path = tmp_path / "old.db"
    db = old_database(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    before = snapshot(db, columns)
    db.close()

    store = Store(path)

    assert store.schema_version() == head()
    upgraded = sqlite3.connect(path)
    assert snapshot(upgraded, columns) == before
    assert sum(len(rows) for rows in before.values()) >= 5
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []
    index = upgraded.execute("SELECT name FROM sqlite_master WHERE name = 'turns_by_conversation'")
    assert index.fetchone() is not None
    turn = store.turn(2)
    assert turn.rating == "bad" and turn.correction == "Hold it 5 s." and turn.sources
    with store.engine.connect() as connection:  # the pool's connections enforce foreign keys
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    _, answer_id = store.record_exchange(
        "c1", "How do I pair?", AnswerRecord("Hold it 5 s.", status="approved", approved_id=7)
    )
    assert store.turn(answer_id).status == "approved"
    assert store.turn(answer_id).approved_id == 7
    # The rebuilt turns table is the one the other tables' foreign keys point at.
    with store.transaction() as tx:
        tx.exec_driver_sql("DELETE FROM conversations WHERE id = 'c1'")
    for table in ("turns", "turn_sources", "feedback"):
        assert upgraded.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
