"""A SQLite store written before Alembic (any user_version) opens, is upgraded, keeps its rows."""

import sqlite3

import pytest
from legacy_store_schema import STEPS, build

from assistant.database import DatabaseError
from assistant.migrations import head
from assistant.store import AnswerRecord, Store


def fill(db: sqlite3.Connection, version: int) -> None:
    """Rows in every table the schema at ``version`` has, the way the old code wrote them."""
    if version == 0:
        return
    db.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at)"
        " VALUES ('c1', 'How do I pair?', '2024-01-01', '2024-01-02')"
    )
    db.execute(
        "INSERT INTO turns (id, conversation_id, role, content, created_at)"
        " VALUES (1, 'c1', 'user', 'How do I pair?', '2024-01-01')"
    )
    db.execute(
        "INSERT INTO turns (id, conversation_id, role, content, status, created_at, model_id,"
        " latency_ms, first_token_ms, prompt_tokens, completion_tokens, adapter_version)"
        " VALUES (2, 'c1', 'assistant', 'Hold the button [1].', 'complete', '2024-01-01',"
        " 'smol', 9.5, 1.25, 120, 30, 'v0002')"
    )
    db.execute(
        "INSERT INTO turn_sources VALUES (2, 1, 'k1', 'r1', 'hub.md', 'Hub', 'Pairing',"
        " 'manual', 0.75, 0.5, 'Hold the button for 5 s.')"
    )
    db.execute("INSERT INTO feedback VALUES (2, 'bad', 'incomplete', 'Hold it 5 s.', '2024-01-03')")
    if version >= 2:
        db.execute("UPDATE conversations SET escalated_at = '2024-01-04', escalation_note = 'vip'")
    if version >= 3:
        db.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, origin)"
            " VALUES ('imp', 'imported', 'x', 'x', 'import')"
        )
        db.execute("INSERT INTO split_assignments VALUES ('c1', 'train'), ('imp', 'eval')")
    if version >= 4:
        db.execute(
            "INSERT INTO turns (id, conversation_id, role, content, status, created_at,"
            " approved_id) VALUES (3, 'c1', 'assistant', 'Hold it 5 s.', 'approved', 'x', 1)"
        )
        db.execute(
            "INSERT INTO approved_answers VALUES (1, 'How do I pair?', 'Hold it 5 s.',"
            " 'correction', 'ann', 'x', 'x', 'c1', 2, X'0102', 'minilm')"
        )
    if version >= 5:
        db.execute("INSERT INTO turn_grounding VALUES (2, '{\"cited\": [1]}')")
    db.commit()


def snapshot(db: sqlite3.Connection) -> dict[str, list[tuple]]:
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"
        )
    ]
    columns = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    return {
        table: db.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
        for table, names in columns.items()
    }


@pytest.mark.parametrize("version", range(len(STEPS) + 1))
def test_an_old_store_is_upgraded_in_place_and_keeps_every_row(tmp_path, version):
    path = tmp_path / "old.db"
    db = build(path, version)
    fill(db, version)
    before = snapshot(db)
    db.close()

    store = Store(path)

    assert store.schema_version() == head()
    upgraded = sqlite3.connect(path)
    after = snapshot(upgraded)
    for table, rows in before.items():
        width = len(rows[0]) if rows else 0
        assert [row[:width] for row in after[table]] == rows, table  # new columns come last
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []
    if version == 0:
        assert store.conversations() == []
        return
    assert sum(len(rows) for rows in before.values()) >= 5
    reply = store.turn(2)
    assert (reply.content, reply.model_id, reply.latency_ms) == (
        "Hold the button [1].",
        "smol",
        9.5,
    )
    assert reply.rating == "bad" and reply.correction == "Hold it 5 s."
    assert [(s.chunk_id, s.score, s.text) for s in reply.sources] == [
        ("k1", 0.75, "Hold the button for 5 s.")
    ]
    assert reply.grounding == ({"cited": [1]} if version >= 5 else None)
    assert store.conversation("c1").escalation_note == ("vip" if version >= 2 else None)
    # what the newest schema adds works on the upgraded store
    _, answer_id = store.record_exchange(
        "c1", "again?", AnswerRecord("Hold it 5 s.", status="approved", approved_id=1)
    )
    assert store.turn(answer_id).status == "approved" and answer_id > 2


def test_a_store_from_a_newer_pre_alembic_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "new.db")
    db.execute(f"PRAGMA user_version = {len(STEPS) + 1}")
    db.close()
    with pytest.raises(DatabaseError, match="newer deskloop"):
        Store(tmp_path / "new.db")
