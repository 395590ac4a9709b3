"""The engine serves an approved answer at once, before retrieval and generation."""

from fakes import ScriptedModel

from assistant.approved import ApprovedMatch
from assistant.engine import ChatEngine
from assistant.settings import load_settings
from assistant.store import Store


class OneApproved:
    """Matches one question (first in a conversation only), as the real matcher is asked."""

    def __init__(self, question: str):
        self.question = question
        self.calls: list[tuple[str, list[dict]]] = []

    def match(self, question: str, history: list[dict]) -> ApprovedMatch | None:
        self.calls.append((question, history))
        if question != self.question or history:
            return None
        return ApprovedMatch(
            id=4,
            question=question,
            answer="Tap 'Forgot password?' on the sign-in screen.",
            created_by="ana",
            created_at="2025-06-01T10:00:00.000+00:00",
            conversation_id="c0",
            similarity=0.93,
        )


class NoRetrieval:
    def __init__(self):
        self.calls = 0

    def retrieve(self, messages, k):
        self.calls += 1
        return []


def test_a_matching_question_gets_the_approved_answer_without_retrieval_or_model(tmp_path):
    model, retriever = ScriptedModel(), NoRetrieval()
    lookup = OneApproved("How do I reset my password?")
    store = Store(tmp_path / "d.db")
    engine = ChatEngine(model, store, load_settings(), retriever, approved=lookup)

    stream = engine.ask("How do I reset my password?")
    chunks = list(stream)

    assert chunks == ["Tap 'Forgot password?' on the sign-in screen."]
    assert model.calls == [] and retriever.calls == 0
    result = stream.result.to_dict()
    assert result["status"] == "approved"
    assert result["approved"] == {
        "id": 4,
        "created_by": "ana",
        "created_at": "2025-06-01T10:00:00.000+00:00",
        "conversation_id": "c0",
        "similarity": 0.93,
    }
    turn = store.turn(result["turn_id"])
    assert turn.status == "approved" and turn.approved_id == 4
    assert turn.content == chunks[0]


def test_other_questions_and_follow_ups_are_generated(tmp_path):
    model = ScriptedModel(["Generated."])
    lookup = OneApproved("How do I reset my password?")
    engine = ChatEngine(model, Store(tmp_path / "d.db"), load_settings(), approved=lookup)

    first = engine.ask("Where is my parcel?")
    assert first.text() == "Generated." and first.result.to_dict()["approved"] is None
    follow_up = engine.ask("How do I reset my password?", first.result.conversation_id)
    assert follow_up.text() == "Generated."
    assert follow_up.result.status == "complete"
    assert lookup.calls[1][1][0]["content"] == "Where is my parcel?"  # it was given the history
