import sqlite3
import subprocess
import sys
import textwrap

import pytest

from assistant.errors import DeskloopError
from assistant.store import MIGRATIONS, AnswerRecord, SourceRef, Store, migrate


def answer(text="Open Settings [1].", **extra) -> AnswerRecord:
    sources = [SourceRef(n=1, chunk_id="c1", source="manuals/a.md", title="Password", score=0.9)]
    return AnswerRecord(text, model_id="tiny", adapter_version="v0001", sources=sources, **extra)


def test_migrates_an_empty_database_to_the_latest_schema(tmp_path):
    store = Store(tmp_path / "d.db")
    assert store.schema_version() == len(MIGRATIONS)
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "d.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {"conversations", "turns", "turn_sources", "feedback", "split_assignments"} <= tables
    assert sqlite3.connect(tmp_path / "d.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_upgrades_an_old_database_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO conversations VALUES ('c1', 'old chat', 'x', 'x')")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version() == len(MIGRATIONS)
    old = store.conversation("c1")
    assert old.title == "old chat" and old.origin == "chat" and old.escalated_at is None


def test_refuses_a_database_from_a_newer_version(tmp_path):
    db = sqlite3.connect(tmp_path / "new.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(DeskloopError, match="newer deskloop"):
        migrate(db)


def test_records_an_exchange_with_its_provenance(tmp_path):
    store = Store(tmp_path / "d.db")
    question_id, answer_id = store.record_exchange("conv1", "How do I reset my password?", answer())
    turns = store.turns("conv1")
    assert [t.id for t in turns] == [question_id, answer_id]
    reply = turns[1]
    assert reply.model_id == "tiny" and reply.adapter_version == "v0001"
    assert reply.sources[0].source == "manuals/a.md" and reply.sources[0].score == 0.9
    assert store.conversation("conv1").title == "How do I reset my password?"


def test_a_failure_inside_the_exchange_leaves_no_row(tmp_path):
    store = Store(tmp_path / "d.db")
    broken = answer()
    broken.sources.append(broken.sources[0])  # the same (turn, n) twice violates the key
    with pytest.raises(sqlite3.IntegrityError):
        store.record_exchange("conv1", "question", broken)
    count = store._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    assert count == 0
    assert store.conversations() == []


def test_a_process_killed_mid_write_leaves_no_half_written_exchange(tmp_path):
    path = tmp_path / "d.db"
    Store(path)
    script = textwrap.dedent(
        f"""
        import os
        from assistant.store import AnswerRecord, Store
        store = Store({str(path)!r})
        with store.transaction() as db:
            db.execute("INSERT INTO conversations (id, title, created_at, updated_at)"
                       " VALUES ('c', 't', 'x', 'x')")
            db.execute("INSERT INTO turns (conversation_id, role, content, created_at)"
                       " VALUES ('c', 'user', 'q', 'x')")
            os.kill(os.getpid(), 9)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert run.returncode == -9
    store = Store(path)
    assert store._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    assert store._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0


def test_readers_keep_reading_while_a_writer_writes(tmp_path):
    writer = Store(tmp_path / "d.db")
    writer.record_exchange("conv1", "first", answer())
    reader = Store(tmp_path / "d.db")
    with writer.transaction() as db:
        db.execute("UPDATE conversations SET title = 'changing' WHERE id = 'conv1'")
        assert reader.conversation("conv1").title == "first"  # not blocked, sees the last commit
    assert reader.conversation("conv1").title == "changing"


def test_flag_feedback_and_count_it(tmp_path):
    store = Store(tmp_path / "d.db")
    _, first = store.record_exchange("c1", "q1", answer())
    _, second = store.record_exchange("c1", "q2", answer())
    store.flag(first, "good")
    flagged = store.flag(second, "bad", reason="incorrect", correction="Use Settings > Security.")
    assert flagged.rating == "bad" and flagged.correction == "Use Settings > Security."
    assert store.feedback_counts() == {"good": 1, "corrected": 1, "bad": 0}
    store.flag(second, "bad", reason="incomplete")  # re-flagging replaces the earlier flag
    assert store.feedback_counts() == {"good": 1, "corrected": 0, "bad": 1}
    assert [t.id for t in store.flagged_turns()] == [first, second]


def test_flag_errors_say_what_to_do(tmp_path):
    store = Store(tmp_path / "d.db")
    question, _ = store.record_exchange("c1", "q", answer())
    with pytest.raises(DeskloopError, match="no turn 999999"):
        store.flag(999999, "bad")
    with pytest.raises(DeskloopError, match="flag the answer"):
        store.flag(question, "good")
    with pytest.raises(DeskloopError, match="rating"):
        store.flag(question + 1, "meh")


def test_conversations_filter_by_text_and_escalate(tmp_path):
    store = Store(tmp_path / "d.db")
    store.record_exchange("c1", "refund for my camera", answer())
    store.record_exchange("c2", "password reset", answer("Try the reset link."))
    assert [c.id for c in store.conversations("reset link")] == ["c2"]
    assert store.escalate("c1", "customer angry").escalated_at is not None
