import threading

import pytest
from fakes import ScriptedModel

from assistant.engine import ChatEngine
from assistant.errors import DeskloopError
from assistant.prompt import DECLINE_ANSWER
from assistant.settings import load_settings
from assistant.store import SourceRef, Store


class ListRetriever:
    def __init__(self, sources: list[SourceRef]):
        self.sources = sources
        self.queries: list[list[dict]] = []

    def retrieve(self, messages, k):
        self.queries.append(messages)
        return self.sources[:k]


def source(n: int, similarity: float, title: str = "Password reset") -> SourceRef:
    return SourceRef(
        n=n,
        chunk_id=f"chunk{n}",
        source=f"manuals/{n}.md",
        title=title,
        record_id=f"r{n}",
        kind="manual",
        score=1 / (60 + n),
        similarity=similarity,
        text=f"Open Settings > Account > Security and choose Reset ({n}).",
    )


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "d.db")


def test_answer_streams_and_is_recorded_with_provenance(store, scripted_model):
    retriever = ListRetriever([source(1, 0.8), source(2, 0.6), source(3, 0.1)])
    engine = ChatEngine(scripted_model, store, load_settings(), retriever)
    stream = engine.ask("How do I reset my password?")
    chunks = list(stream)
    assert len(chunks) > 1
    result = stream.result
    assert result.answer == "Open Settings, then Security [1]."
    assert result.status == "complete" and result.model_id == "scripted"
    assert [s.chunk_id for s in result.sources] == ["chunk1", "chunk2"]  # 0.1 is below the bar
    recorded = store.turn(result.turn_id)
    assert recorded.content == result.answer
    assert [s.similarity for s in recorded.sources] == [0.8, 0.6]
    assert recorded.completion_tokens == 5 and recorded.prompt_tokens > 0
    prompt = scripted_model.calls[0][-1]["content"]
    assert "[1] Password reset" in prompt and "[2] Password reset" in prompt
    assert "(3)" not in prompt


def test_follow_up_carries_the_earlier_turns(store):
    model = ScriptedModel(["Use the reset link.", "About five minutes."])
    retriever = ListRetriever([source(1, 0.9)])
    engine = ChatEngine(model, store, load_settings(), retriever)
    first = engine.ask("How do I reset my password?")
    first.text()
    second = engine.ask("and how long does that take?", first.result.conversation_id)
    second.text()
    sent = model.calls[1]
    assert sent[1] == {"role": "user", "content": "How do I reset my password?"}
    assert sent[2] == {"role": "assistant", "content": "Use the reset link."}
    assert retriever.queries[1][0]["content"] == "How do I reset my password?"
    assert len(store.turns(first.result.conversation_id)) == 4


def test_declines_when_no_source_clears_the_bar(store, scripted_model):
    engine = ChatEngine(scripted_model, store, load_settings(), ListRetriever([source(1, 0.05)]))
    stream = engine.ask("Does the camera work on Mars?")
    assert stream.text() == DECLINE_ANSWER
    assert stream.result.status == "declined" and stream.result.sources == []
    assert scripted_model.calls == []


def test_without_a_knowledge_base_the_model_answers_ungrounded(store, scripted_model):
    engine = ChatEngine(scripted_model, store, load_settings(), retriever=None)
    assert engine.ask("hello").text() == "Open Settings, then Security [1]."


def test_cancel_keeps_the_partial_answer_marked_cancelled(store):
    model = ScriptedModel(["one two three four five six seven eight nine ten"], delay=0.01)
    engine = ChatEngine(model, store, load_settings())
    stream = engine.ask("long one")
    received = []
    for chunk in stream:
        received.append(chunk)
        if len(received) == 3:
            stream.cancel()
    assert stream.result.status == "cancelled"
    assert stream.result.answer == "one two three"
    assert store.turn(stream.result.turn_id).status == "cancelled"


def test_unknown_conversation_is_a_clear_error(store, scripted_model):
    engine = ChatEngine(scripted_model, store, load_settings())
    with pytest.raises(DeskloopError, match="deskloop history"):
        engine.ask("q", "nope")


def test_engine_swaps_to_the_adapter_the_registry_names(store, scripted_model, tmp_path):
    active = {"version": None}
    engine = ChatEngine(
        scripted_model,
        store,
        load_settings(),
        adapter_choice=lambda: (active["version"], tmp_path),
    )
    engine.ask("q1").text()
    active["version"] = "v0002"
    result = engine.ask("q2")
    result.text()
    assert result.result.adapter == "v0002"
    assert store.turn(result.result.turn_id).adapter_version == "v0002"
    assert scripted_model.adapter_swaps == ["v0002"]


def test_cancel_from_another_thread_stops_a_slow_stream(store):
    model = ScriptedModel(["word " * 500], delay=0.02)
    engine = ChatEngine(model, store, load_settings())
    stream = engine.ask("q")
    threading.Timer(0.1, stream.cancel).start()
    stream.text()
    assert stream.result.status == "cancelled"
    assert len(stream.result.answer.split()) < 100
