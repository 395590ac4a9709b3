"""The conversation store, on a SQLite file and on a real PostgreSQL server (tests/postgres.py)."""

import sqlite3
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from assistant.database import DatabaseError
from assistant.errors import DeskloopError
from assistant.migrations import head
from assistant.store import AnswerRecord, SourceRef, Store


def answer(text="Open Settings [1].", **extra) -> AnswerRecord:
    sources = [SourceRef(n=1, chunk_id="c1", source="manuals/a.md", title="Password", score=0.9)]
    return AnswerRecord(text, model_id="tiny", adapter_version="v0001", sources=sources, **extra)


def count(store: Store, table: str) -> int:
    with store.engine.connect() as db:
        return db.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_creates_the_latest_schema(database):
    store = Store(database)
    assert store.schema_version() == head()
    tables = set(sa.inspect(store.engine).get_table_names())
    expected = {"conversations", "turns", "turn_sources", "feedback", "split_assignments"}
    assert expected | {"approved_answers", "turn_grounding", "alembic_version"} <= tables
    if store.engine.dialect.name == "sqlite":
        assert sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = Store(database)  # opening a current store changes nothing
    assert again.schema_version() == head()


def test_refuses_a_database_from_a_newer_version(database):
    Store(database)
    engine = sa.create_engine(Store(database).url)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="newer deskloop"):
        Store(database)


def test_records_an_exchange_with_its_provenance(database):
    store = Store(database)
    grounding = {"cited": [1], "sentences": [{"text": "Open Settings", "supported": True}]}
    question_id, answer_id = store.record_exchange(
        "conv1", "How do I reset my password?", answer(grounding=grounding, latency_ms=12.5)
    )
    turns = store.turns("conv1")
    assert [t.id for t in turns] == [question_id, answer_id]
    reply = turns[1]
    assert reply.model_id == "tiny" and reply.adapter_version == "v0001"
    assert reply.sources[0].source == "manuals/a.md" and reply.sources[0].score == 0.9
    assert reply.grounding == grounding and reply.latency_ms == 12.5
    assert store.conversation("conv1").title == "How do I reset my password?"
    assert store.conversation("conv1").turn_count == 2


def test_a_failure_inside_the_exchange_leaves_no_row(database):
    store = Store(database)
    broken = answer()
    broken.sources.append(broken.sources[0])  # the same (turn, n) twice violates the key
    with pytest.raises(sa.exc.IntegrityError):
        store.record_exchange("conv1", "question", broken)
    assert count(store, "turns") == 0
    assert store.conversations() == []


def test_a_process_killed_mid_write_leaves_no_half_written_exchange(database):
    Store(database)
    script = textwrap.dedent(
        f"""
        import os
        from assistant.store import AnswerRecord, Store
        store = Store({database!r})
        with store.transaction() as db:
            db.exec_driver_sql("INSERT INTO conversations (id, title, created_at, updated_at)"
                               " VALUES ('c', 't', 'x', 'x')")
            db.exec_driver_sql("INSERT INTO turns (conversation_id, role, content, created_at)"
                               " VALUES ('c', 'user', 'q', 'x')")
            os.kill(os.getpid(), 9)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert run.returncode == -9, run.stderr
    store = Store(database)
    assert count(store, "turns") == 0
    assert count(store, "conversations") == 0


def test_readers_keep_reading_while_a_writer_writes(database):
    writer = Store(database)
    writer.record_exchange("conv1", "first", answer())
    reader = Store(database)
    with writer.transaction() as db:
        db.exec_driver_sql("UPDATE conversations SET title = 'changing' WHERE id = 'conv1'")
        assert reader.conversation("conv1").title == "first"  # not blocked, sees the last commit
    assert reader.conversation("conv1").title == "changing"


def test_flag_feedback_and_count_it(database):
    store = Store(database)
    _, first = store.record_exchange("c1", "q1", answer())
    _, second = store.record_exchange("c1", "q2", answer())
    store.flag(first, "good")
    flagged = store.flag(second, "bad", reason="incorrect", correction="Use Settings > Security.")
    assert flagged.rating == "bad" and flagged.correction == "Use Settings > Security."
    assert store.feedback_counts() == {"good": 1, "corrected": 1, "bad": 0}
    store.flag(second, "bad", reason="incomplete")  # re-flagging replaces the earlier flag
    assert store.feedback_counts() == {"good": 1, "corrected": 0, "bad": 1}
    assert [t.id for t in store.flagged_turns()] == [first, second]
    edited = store.edit_answer(first, "  Open Settings, then Security.  ")
    assert edited.content == "Open Settings, then Security." and edited.rating == "good"


def test_flag_errors_say_what_to_do(database):
    store = Store(database)
    question, _ = store.record_exchange("c1", "q", answer())
    with pytest.raises(DeskloopError, match="no turn 999999"):
        store.flag(999999, "bad")
    with pytest.raises(DeskloopError, match="flag the answer"):
        store.flag(question, "good")
    with pytest.raises(DeskloopError, match="rating"):
        store.flag(question + 1, "meh")


def test_conversations_filter_by_text_and_escalate(database):
    store = Store(database)
    store.record_exchange("c1", "refund for my camera", answer())
    store.record_exchange("c2", "password reset", answer("Try the reset link."))
    assert [c.id for c in store.conversations("reset link")] == ["c2"]
    assert [c.id for c in store.conversations("Refund")] == ["c1"]  # either case, both backends
    assert {c.id for c in store.conversations()} == {"c1", "c2"}
    imported = store.create_conversation("from a file", origin="import")
    assert imported.id not in {c.id for c in store.conversations()}
    escalated = store.escalate("c1", "customer angry")
    assert escalated.escalated_at is not None and escalated.escalation_note == "customer angry"


def test_split_assignments_are_kept_once(database):
    store = Store(database)
    store.save_split_assignments({"c1": "train", "c2": "eval"})
    store.save_split_assignments({"c1": "eval", "c3": "train"})  # c1 keeps its first split
    assert store.split_assignments() == {"c1": "train", "c2": "eval", "c3": "train"}


def test_an_in_memory_store_is_its_own(tmp_path):
    first, second = Store(":memory:"), Store(":memory:")
    first.record_exchange("c1", "q", answer())
    assert [c.id for c in first.conversations()] == ["c1"]
    assert second.conversations() == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql+nosuchdriver://x/y", "SQLite or PostgreSQL, not mysql"),
        ("oracle://user@host/db", "SQLite or PostgreSQL, not oracle"),
        ("postgresql://user@host:notaport/db", "not a database URL"),
        ("postgresql://nobody@127.0.0.1:1/deskloop", "cannot reach the PostgreSQL server"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_that_says_what_to_do(url, says):
    with pytest.raises(DatabaseError, match=says) as caught:
        Store(url)
    message = str(caught.value)
    assert "\n" not in message and "database_url" in message


def test_a_sqlite_file_that_cannot_be_opened_says_so(tmp_path):
    folder = tmp_path / "a-folder.db"
    folder.mkdir()  # a folder where the database file should be
    with pytest.raises(DatabaseError, match="cannot open the SQLite database"):
        Store(folder)


def test_postgres_login_and_missing_database_errors(postgres_server):
    missing = postgres_server.url("no_such_database")
    with pytest.raises(DatabaseError, match=r"no database 'no_such_database'.*createdb"):
        Store(missing)
    wrong_user = missing.replace("deskloop@", "intruder@").replace("no_such_database", "postgres")
    with pytest.raises(DatabaseError, match=r"refused user 'intruder': fix database_url"):
        Store(wrong_user)
