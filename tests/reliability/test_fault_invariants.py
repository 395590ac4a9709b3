"""The fault suite's invariant checks see what they look for (else 0 broken means nothing)."""

from __future__ import annotations

import random
import sqlite3

from bench.fault_suite import State, kill_moment
from retrieval import IndexSettings
from retrieval.store.chroma_index import ChromaIndex


def test_a_question_without_its_answer_is_reported(isolated_home):
    from assistant.store import AnswerRecord, Store

    store = Store(f"sqlite:///{isolated_home / 'deskloop.db'}")
    store.record_exchange("c1", "How do I reset it?", AnswerRecord("Hold the pin."))
    store.close()
    state = State({"DESKLOOP_HOME": str(isolated_home)})
    assert state.exchanges() == []

    with sqlite3.connect(isolated_home / "deskloop.db") as db:
        db.execute(
            "INSERT INTO turns (conversation_id, role, content, created_at)"
            " VALUES ('c1', 'user', 'And then?', '2026-01-01')"
        )
    assert state.exchanges() == ["conversation c1: turns ['user', 'assistant', 'user']"]


def test_two_versions_of_a_source_in_the_index_are_reported(isolated_home):
    index = ChromaIndex(IndexSettings(directory=isolated_home / "index"), "model")
    meta = {"source": "a.md", "chunk_index": 0, "chunk_count": 1}
    index.upsert(["old-0"], [[1.0, 0.0]], ["old"], [{**meta, "content_hash": "old"}])
    state = State({"DESKLOOP_HOME": str(isolated_home)})
    assert state.chunks() == ({"a.md": 1}, [])

    index.upsert(["new-0"], [[0.0, 1.0]], ["new"], [{**meta, "content_hash": "new"}])
    counts, problems = state.chunks()
    assert counts == {"a.md": 2}
    assert problems == ["a.md: duplicate chunk positions", "a.md: 2 versions indexed at once"]


def test_an_active_adapter_without_its_files_is_reported(isolated_home, tmp_path):
    from assistant.store import Store
    from tuning.registry import PEFT_FILES, AdapterRegistry

    Store(f"sqlite:///{isolated_home / 'deskloop.db'}").close()  # the pointer's table
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    for name in PEFT_FILES:
        (candidate / name).write_text("{}")
    registry = AdapterRegistry(isolated_home / "adapters")
    version = registry.register(candidate, {})
    registry.promote(version)
    state = State({"DESKLOOP_HOME": str(isolated_home)})
    assert state.adapters() == (version, [version], [])

    (isolated_home / "adapters" / version / "adapter_config.json").unlink()
    assert state.adapters()[2] == [f"active {version} has no adapter_config.json"]


def test_every_other_kill_falls_in_the_last_quarter_of_the_run():
    rng = random.Random(0)
    moments = [kill_moment(attempt, 4.0, rng) for attempt in range(40)]
    assert all(3.0 <= m <= 4.2 for m in moments[1::2])
    assert any(m < 2.0 for m in moments[0::2])  # the others range over the whole run
