"""The answer layer over a real (small) knowledge base, as the app, the server and the gate build
it: a follow-up over the same sources does not embed their sentences again, and the evidence is
what embedding every sentence afresh gives."""

import pytest

from assistant.answering.grounder import Grounder, knowledge_base_grounder
from assistant.settings import AnswerSettings
from retrieval import IndexSettings, KnowledgeBase
from retrieval.embeddings import Embedder

MANUAL = """\
# Password reset

The reset link works for 60 minutes and can be used only once.

If the link has expired, request a new one from the sign-in page.

Reset e-mails come from no-reply@korvolabs.example; check the spam folder if none arrives.
"""

QUESTIONS = ("How long does the reset link work?", "Where do reset e-mails come from?")


@pytest.fixture(scope="module")
def knowledge_base(tmp_path_factory) -> KnowledgeBase:
    folder = tmp_path_factory.mktemp("kb")
    (folder / "reset.md").write_text(MANUAL, encoding="utf-8")
    kb = KnowledgeBase(IndexSettings(directory=folder / "index"), Embedder())
    kb.ingest([folder / "reset.md"])
    return kb


def ask(question: str) -> list[dict]:
    return [{"role": "user", "content": question}]


def test_a_follow_up_over_the_same_sources_embeds_only_its_own_words(knowledge_base, monkeypatch):
    grounder = knowledge_base_grounder(knowledge_base, AnswerSettings())
    embedder = knowledge_base.embedder
    sources = {1: MANUAL}
    embedded: list[str] = []
    embed = embedder.embed
    monkeypatch.setattr(
        embedder, "embed", lambda texts, **kw: embedded.extend(texts) or embed(texts)
    )
    grounder.plan(ask(QUESTIONS[0]), sources)
    first_time = list(embedded)
    embedded.clear()
    grounder.plan(ask(QUESTIONS[1]), sources)
    assert "The reset link works for 60 minutes and can be used only once." in first_time
    assert embedded == [QUESTIONS[1]]


def test_remembered_sentences_give_the_evidence_fresh_ones_give(knowledge_base):
    remembering = knowledge_base_grounder(knowledge_base, AnswerSettings())
    fresh = Grounder(knowledge_base.embedder.embed, AnswerSettings(), knowledge_base.vocabulary)
    for question in (*QUESTIONS, *QUESTIONS):
        assert Grounder.quote(remembering.plan(ask(question), {1: MANUAL})) == Grounder.quote(
            fresh.plan(ask(question), {1: MANUAL})
        )
