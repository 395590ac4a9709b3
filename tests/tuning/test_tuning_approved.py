"""Approved answers: made by flags (PII masked), matched on real MiniLM, served by the engine."""

from __future__ import annotations

import getpass

import pytest
from fakes import ScriptedModel

from assistant.engine import ChatEngine
from assistant.settings import load_settings
from assistant.store import AnswerRecord, Store
from retrieval.embeddings import shared_embedder
from tuning.approved import ApprovedMatcher, scrub_text
from tuning.approved_match import same_request

QUESTION = "How do I cancel my order? My email is ana.lopez@example.com"
ANSWER = "Open Orders, pick the order and tap Cancel. We'll confirm to ana.lopez@example.com."


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "d.db", scrub=scrub_text)


def exchange(store: Store, question=QUESTION, answer=ANSWER, conversation="c1", **extra) -> int:
    return store.record_exchange(conversation, question, AnswerRecord(answer, **extra))[1]


def test_a_good_flag_approves_the_answer_with_pii_masked(store):
    turn = exchange(store)
    store.flag(turn, "good")
    [approved] = store.approved.entries()
    assert approved.question == "How do I cancel my order? My email is [EMAIL]"
    assert (
        approved.answer == "Open Orders, pick the order and tap Cancel. We'll confirm to [EMAIL]."
    )
    assert (approved.origin, approved.turn_id, approved.conversation_id) == ("good", turn, "c1")
    assert approved.created_by == getpass.getuser()


def test_a_correction_replaces_it_and_a_bare_bad_flag_withdraws_it(store):
    turn = exchange(store)
    store.flag(turn, "good")
    store.flag(turn, "bad", "incorrect", "Call us on +44 20 7946 0958 to cancel.")
    [approved] = store.approved.entries()
    assert approved.origin == "correction" and approved.answer == "Call us on [PHONE] to cancel."
    store.flag(turn, "bad", "incorrect")
    assert store.approved.entries() == []


def test_follow_ups_partial_answers_and_imports_are_not_approved(store):
    first = exchange(store)
    follow_up = exchange(store, "and for a pre-order?", "The same way.")
    cancelled = exchange(store, conversation="c2", status="cancelled")
    imported = store.create_conversation("imported", origin="import").id
    from_import = exchange(store, conversation=imported)
    for turn in (follow_up, cancelled, from_import):
        store.flag(turn, "good")
    assert store.approved.entries() == []
    store.flag(first, "good")
    assert [a.turn_id for a in store.approved.entries()] == [first]


def test_without_a_scrubber_flags_approve_nothing(tmp_path):
    plain = Store(tmp_path / "plain.db")
    plain.flag(exchange(plain), "good")
    assert plain.approved.entries() == []


@pytest.mark.parametrize(
    ("asked", "approved", "same"),
    [
        ("cancel purchase 113542617735902", "I want to cancel order 732201349959", True),
        ("open a Gold account", "use my Gold account", False),
        ("error E-202 when pairing", "error E-203 when pairing", False),
        ("hub on firmware 3.2.1 lost 5 GHz", "hub on firmware 3.2.4 lost 5 GHz", False),
        ("where is my invoice", "how do I download my invoice", True),
    ],
)
def test_the_guard_keeps_identifiers_and_actions_apart(asked, approved, same):
    assert same_request(asked, approved) is same


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder(None, "cpu")


@pytest.mark.slow
def test_a_paraphrase_matches_and_look_alikes_do_not(store, embedder):
    store.flag(exchange(store, "How can I cancel my order?", "Open Orders and tap Cancel."), "good")
    store.flag(
        exchange(store, "My camera shows error E-202 when pairing", "Use 2.4 GHz.", "c2"), "good"
    )
    matcher = ApprovedMatcher(store, embedder, load_settings().approved_min_similarity)

    paraphrase = matcher.match("how do i cancel my order", [])
    assert paraphrase is not None and paraphrase.answer == "Open Orders and tap Cancel."
    assert paraphrase.similarity >= matcher.min_similarity
    code = matcher.match("My camera shows error E-202 while pairing", [])
    assert code is not None and code.answer == "Use 2.4 GHz."
    assert matcher.match("How can I change my order?", []) is None  # another action
    assert matcher.match("My camera shows error E-203 when pairing", []) is None  # another code
    assert matcher.match("Where is my parcel?", []) is None
    follow_up = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    assert matcher.match("how do i cancel my order", follow_up) is None
    assert all(a.embedding_model == embedder.label for a in store.approved.entries())


@pytest.mark.slow
def test_edits_and_removals_reach_the_matcher(store, embedder):
    store.flag(exchange(store, "How can I cancel my order?", "Open Orders."), "good")
    matcher = ApprovedMatcher(store, embedder, load_settings().approved_min_similarity)
    [approved] = store.approved.entries()
    assert matcher.match("how do i cancel my order", []) is not None

    store.approved.update(approved.id, question="How do I reset my password?")
    assert store.approved.get(approved.id).embedding is None  # re-embedded on next match
    assert matcher.match("how do i cancel my order", []) is None
    assert matcher.match("how can I reset my password", []).answer == "Open Orders."
    store.approved.remove(approved.id)
    assert matcher.match("how can I reset my password", []) is None


@pytest.mark.slow
def test_the_engine_serves_an_approved_answer_for_a_paraphrase_only(store, embedder):
    store.flag(exchange(store, "How can I cancel my order?", "Open Orders and tap Cancel."), "good")
    matcher = ApprovedMatcher(store, embedder, load_settings().approved_min_similarity)
    model = ScriptedModel(["Generated."])
    engine = ChatEngine(model, store, load_settings(), approved=matcher)

    served = engine.ask("how do i cancel my order")
    assert served.text() == "Open Orders and tap Cancel."
    document = served.result.to_dict()
    assert document["status"] == "approved" and document["approved"]["conversation_id"] == "c1"
    assert model.calls == []
    assert engine.ask("How can I change my order?").text() == "Generated."
