from __future__ import annotations

import json

from assistant.store import AnswerRecord, SourceRef, Store
from tuning.feedback_rows import import_feedback, store_feedback_rows
from tuning.formats import parse_feedback_row


def test_store_rows_are_oldest_first_with_history_and_sources(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    source = SourceRef(1, "chunk-1", "hub.md", title="Hub", section="LEDs", text="Blue blinks.")
    store.record_exchange("c1", "Hello?", AnswerRecord("Hi, how can I help?"))
    _, first = store.record_exchange(
        "c1", "Why blue?", AnswerRecord("It pairs [1].", sources=[source])
    )
    _, other = store.record_exchange("c2", "Refund?", AnswerRecord("Sure."))
    store.flag(other, "bad", "incorrect", "Refunds take 5 days.")
    store.flag(first, "good")

    rows = store_feedback_rows(store)

    assert [r.turn_id for r in rows] == [first, other]
    assert [m["content"] for m in rows[0].messages] == [
        "Hello?",
        "Hi, how can I help?",
        "Why blue?",
        "It pairs [1].",
    ]
    assert rows[0].sources[0].title == "Hub > LEDs" and rows[0].sources[0].text == "Blue blinks."
    assert rows[1].rating == "bad" and rows[1].correction == "Refunds take 5 days."
    assert rows[1].reason == "incorrect" and rows[1].conversation_id == "c2"
    # every row is valid in the file format, so exports re-import
    assert parse_feedback_row(rows[0].to_dict()).messages == rows[0].messages


def test_import_stores_flagged_conversations_and_reports_bad_lines(tmp_path, feedback_file):
    with feedback_file.open("a") as f:
        f.write("not json\n")
        f.write(
            json.dumps({"messages": [{"role": "user", "content": "q"}], "rating": "good"}) + "\n"
        )
    store = Store(tmp_path / "db.sqlite")

    result = import_feedback(store, feedback_file)

    assert (result.rows, result.conversations, result.flagged) == (12, 12, 12)
    assert len(result.errors) == 2 and result.errors[0].startswith("line 13:")
    assert store.feedback_counts() == {"good": 4, "corrected": 4, "bad": 4}
    rows = store_feedback_rows(store)
    corrected = [r for r in rows if r.correction]
    assert corrected[0].sources[0].source == "cam.md"
    assert {store.conversation(r.conversation_id).origin for r in rows} == {"import"}


def test_rows_of_one_conversation_stay_one_conversation(tmp_path):
    exchange = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]
    later = [*exchange, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]
    path = tmp_path / "f.jsonl"
    path.write_text(
        json.dumps({"messages": exchange, "rating": "good", "conversation_id": "x"})
        + "\n"
        + json.dumps({"messages": later, "rating": "good", "conversation_id": "x"})
        + "\n"
    )
    store = Store(tmp_path / "db.sqlite")

    result = import_feedback(store, path)

    rows = store_feedback_rows(store)
    assert result.conversations == 1 and result.turns == 4
    assert len({r.conversation_id for r in rows}) == 1
    assert [m["content"] for m in rows[1].messages] == ["Q1", "A1", "Q2", "A2"]


def test_store_rows_query_each_conversation_once(tmp_path, monkeypatch):
    store = Store(tmp_path / "db.sqlite")
    for question in ("Q1", "Q2", "Q3"):
        _, answer = store.record_exchange("c1", question, AnswerRecord("A"))
        store.flag(answer, "good")
    calls: list[str] = []
    real_turns = store.turns
    monkeypatch.setattr(store, "turns", lambda cid: calls.append(cid) or real_turns(cid))

    rows = store_feedback_rows(store)

    assert len(rows) == 3
    assert calls == ["c1"]
