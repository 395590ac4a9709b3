from pathlib import Path

import numpy as np
import pytest
from retrieval_corpus import PASSAGES, write_jsonl, write_tickets_csv

from assistant.settings import RetrievalSettings
from retrieval import KnowledgeBase, build_query
from retrieval.bm25_index import content_stamp
from retrieval.store import ChromaIndex


@pytest.fixture
def full_kb(kb: KnowledgeBase, manuals_dir: Path, tmp_path: Path) -> KnowledgeBase:
    assert kb.ingest([manuals_dir]).ok
    assert kb.ingest([write_tickets_csv(tmp_path / "tickets.csv")], tickets=True).ok
    return kb


def test_ticket_hits_carry_their_record_id(full_kb: KnowledgeBase) -> None:
    hits = full_kb.search("my blender lid broke", k=3)
    top = hits[0]
    assert top.record_id == "T-1001"
    assert top.kind == "ticket"
    assert top.title == "Blender lid cracked"
    assert top.metadata["product"] == "blender"
    assert top.score >= hits[1].score
    assert {"id", "record_id", "source", "title", "section", "kind", "score", "similarity",
            "text"} <= top.to_dict().keys()  # fmt: skip


def test_passages_use_the_given_id_field(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "passages.jsonl", PASSAGES)
    kb.ingest([path], id_field="pid", text_field="text", title_field="doc_title")
    top = kb.search("renew my licence", k=1)[0]
    assert top.record_id == "p-001"
    assert top.title == "Driver licence renewal"


def test_kind_and_product_filters(full_kb: KnowledgeBase) -> None:
    manuals = full_kb.search("blender noise", k=5, kind="manual")
    assert manuals and {hit.kind for hit in manuals} == {"manual"}
    toasters = full_kb.search("appliance broken", k=5, product="toaster")
    assert [hit.record_id for hit in toasters] == ["T-1002"]
    both = full_kb.search("blender", k=5, kind="ticket", product="blender")
    assert {hit.record_id for hit in both} == {"T-1001", "T-1003"}
    with pytest.raises(ValueError, match="kind"):
        full_kb.search("x", kind="faq")


def test_follow_up_question_retrieves_the_earlier_topic(full_kb: KnowledgeBase) -> None:
    """The engine grounds an answer on the top `retrieval.top_k` sources whose similarity
    reaches `retrieval.min_similarity`: the follow-up must bring the right
    passage in. (Its rank within them is not asserted: the agent's turn, which the query
    weighs too because on real dialogues it often names the subject, pulls "Requesting a
    refund" up beside it.)"""
    conversation = [
        {"role": "user", "content": "A customer wants a refund for a returned item."},
        {"role": "assistant", "content": "They can request it from the order page."},
        {"role": "user", "content": "and how long does that take?"},
    ]
    defaults = RetrievalSettings()
    top_k, min_similarity = defaults.top_k, defaults.min_similarity
    hits = full_kb.search(build_query(conversation), k=top_k)
    grounding = [hit for hit in hits if hit.similarity >= min_similarity]
    assert grounding and all(hit.source.endswith("refunds.md") for hit in grounding)
    wanted = [hit for hit in hits if hit.section == "Refund policy > Refund processing time"]
    assert wanted and wanted[0].similarity >= min_similarity
    bare = full_kb.search(conversation[-1]["content"], k=1)[0]
    assert bare.similarity < min_similarity  # the last turn alone names no topic


def test_similarity_is_the_dense_cosine_for_every_hit(full_kb: KnowledgeBase) -> None:
    query = "printer error E04"
    hits = full_kb.search(query, k=4)
    vector = full_kb.embedder.embed_query(query)
    stored = full_kb._store.get([hit.id for hit in hits], with_embeddings=True)
    for hit in hits:
        assert hit.similarity == pytest.approx(float(np.dot(vector, stored[hit.id][1])), abs=1e-4)
    assert hits[0].source.endswith("printer.txt")
    assert hits[0].similarity > 0.3


def test_bm25_only_hits_still_get_a_similarity(
    full_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ChromaIndex, "query", lambda self, *args, **kwargs: [])
    hits = full_kb.search("thermal fuse toaster", k=2)
    assert hits[0].record_id == "T-1002"
    assert all(0.0 < hit.similarity <= 1.0 for hit in hits)


def test_bm25_stays_in_step_with_chroma_after_remove(
    full_kb: KnowledgeBase, manuals_dir: Path, make_kb
) -> None:
    router = str(manuals_dir / "router.rst")
    assert any(hit.source == router for hit in full_kb.search("WPS button reset pin", k=3))
    full_kb.remove(router)
    bm25_ids = [chunk_id for chunk_id, _ in full_kb._bm25.search("WPS button reset pin", 10)]
    assert set(bm25_ids) <= set(full_kb._store.all_ids())  # BM25 returns only live chunks
    assert all(hit.source != router for hit in full_kb.search("WPS button reset pin", k=5))
    assert len(full_kb._bm25) == full_kb._store.count()

    reopened = make_kb()  # a new process: loads the saved BM25 index, whose stamp matches
    reopened.search("refund", k=1)
    assert reopened._bm25.stamp == content_stamp(reopened._store.all_ids())
    assert len(reopened._bm25) == reopened._store.count()


def test_bm25_is_rebuilt_when_chroma_changed_behind_its_back(
    full_kb: KnowledgeBase, manuals_dir: Path, make_kb
) -> None:
    printer = str(manuals_dir / "nested" / "printer.txt")
    ids = [chunk.id for chunk in full_kb._store.source_chunks(printer)]
    full_kb._store.delete(ids)  # as another client of a shared Chroma server would
    reopened = make_kb()
    assert all(hit.source != printer for hit in reopened.search("printer error E04", k=5))
    assert not set(ids) & {chunk_id for chunk_id, _ in reopened._bm25.search("E04 printer", 10)}


def test_empty_index_returns_no_hits(kb: KnowledgeBase) -> None:
    assert kb.search("anything", k=5) == []
    assert kb.is_empty()


def test_bm25_adds_weighted_part_scores(full_kb: KnowledgeBase) -> None:
    bm25 = full_kb._bm25
    alone = dict(bm25.search("toaster", 50))
    both = dict(bm25.search([("toaster", 1.0), ("blender", 0.5)], 50))
    blender = dict(bm25.search("blender", 50))
    assert both and set(both) == set(alone) | set(blender)
    for chunk_id, score in both.items():
        expected = alone.get(chunk_id, 0.0) + 0.5 * blender.get(chunk_id, 0.0)
        assert score == pytest.approx(expected)
