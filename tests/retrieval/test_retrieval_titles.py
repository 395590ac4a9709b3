"""Titles named in the conversation pick which document or entity a question is about."""

from __future__ import annotations

from pathlib import Path

import pytest
from retrieval_corpus import write_jsonl

from retrieval import KnowledgeBase, build_query
from retrieval.search import HybridSearcher
from retrieval.titles import TitleMatcher, name_titles

# Three guesthouses with the same kinds of snippets: only the name tells them apart, and the
# snippets about pets disagree, so the wrong guesthouse gives the wrong answer.
SNIPPETS = [
    ("alder-pets", "Alder Lodge", "Q: Can I bring my dog? A: No, pets are not allowed."),
    ("alder-park", "Alder Lodge", "Q: Is there parking? A: Yes, free parking on site."),
    ("alder-wifi", "Alder Lodge", "Q: Is there wifi? A: Free wifi in all rooms."),
    ("alder-rev", "Alder Lodge", "We loved our stay at Alder Lodge, the breakfast was great."),
    ("birch-pets", "Birch Manor", "Q: Are dogs allowed? A: Yes, dogs stay free at Birch Manor."),
    ("birch-park", "Birch Manor", "Q: Is there parking? A: Street parking only."),
    ("birch-wifi", "Birch Manor", "Q: Is there wifi? A: Wifi in the lobby only."),
    ("birch-rev", "Birch Manor", "Birch Manor was quiet and clean, lovely garden."),
    ("cedar-pets", "Cedar House", "Q: Do you allow pets? A: Small dogs and cats are welcome."),
    ("cedar-park", "Cedar House", "Q: Is there parking? A: A garage for ten cars."),
    ("cedar-wifi", "Cedar House", "Q: Is there wifi? A: Yes, fast wifi everywhere."),
    ("cedar-rev", "Cedar House", "The staff at Cedar House made us feel at home."),
]


@pytest.fixture
def hotels_kb(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    rows = [{"kid": kid, "name": name, "text": text} for kid, name, text in SNIPPETS]
    path = write_jsonl(tmp_path / "hotels.jsonl", rows)
    assert kb.ingest([path], id_field="kid", text_field="text", title_field="name").ok
    return kb


def conversation(hotel: str) -> list[dict]:
    return [
        {"role": "user", "content": "I need a moderately priced guesthouse in the north."},
        {"role": "assistant", "content": f"{hotel} is a nice guesthouse. Shall I book it?"},
        {"role": "user", "content": "Not yet, what is the phone number?"},
        {"role": "assistant", "content": "It is 01223 555 0100."},
        {"role": "user", "content": "Can I bring my dog?"},
    ]


def test_the_hotel_the_agent_named_decides_which_pets_snippet_comes_first(
    hotels_kb: KnowledgeBase,
) -> None:
    for hotel, expected in (
        ("Alder Lodge", "alder-pets"),
        ("Birch Manor", "birch-pets"),
        ("Cedar House", "cedar-pets"),
    ):
        hits = hotels_kb.search(build_query(conversation(hotel)), k=3)
        assert hits[0].record_id == expected, (hotel, [hit.record_id for hit in hits])


def test_without_the_named_titles_list_the_name_is_not_enough(
    hotels_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the test above: plain dense + BM25 does not find the right snippet first."""
    monkeypatch.setattr(type(hotels_kb._bm25), "named_titles", lambda self, parts: {})
    firsts = {
        hotels_kb.search(build_query(conversation(hotel)), k=1)[0].record_id
        for hotel in ("Alder Lodge", "Birch Manor", "Cedar House")
    }
    assert firsts != {"alder-pets", "birch-pets", "cedar-pets"}


def test_named_titles_are_weighted_by_recency_and_filters_still_apply(
    hotels_kb: KnowledgeBase,
) -> None:
    query = build_query(
        [
            {"role": "user", "content": "Tell me about Alder Lodge and birch manor."},
            {"role": "assistant", "content": "Alder Lodge is cheaper."},
            {"role": "user", "content": "Does it have parking?"},
        ]
    )
    named = hotels_kb._bm25.named_titles([(part.text, part.weight) for part in query.parts])
    assert named == {"Alder Lodge": 0.5, "Birch Manor": 0.25}
    searcher = HybridSearcher(hotels_kb._store, hotels_kb._bm25, hotels_kb.embedder)
    vector = hotels_kb.embedder.embed_query("Does it have parking?")
    ranking = searcher.named_title_ranking(named, vector, 20, None)
    chunks = hotels_kb._store.get(ranking)
    records = [chunks[chunk_id][0].metadata["record_id"] for chunk_id in ranking]
    assert sorted(records) == sorted(kid for kid, name, _ in SNIPPETS if name != "Cedar House")
    assert records[0] == "alder-park"  # the most recently named, and the question's topic
    for topic in ("pets", "wifi", "rev"):  # on the same topic, the one named longer ago is behind
        assert records.index(f"alder-{topic}") < records.index(f"birch-{topic}")
    assert hotels_kb.search(query, k=2, kind="ticket") == []


def test_titles_are_matched_as_whole_words_longest_first() -> None:
    matcher = TitleMatcher(["Pizza Express", "Pizza Express Fen Ditton", "Cote", "FAQ", "Rosa's"])
    assert matcher.find("Book PIZZA express fen ditton, then cote.") == [
        "Pizza Express Fen Ditton",
        "Cote",
    ]
    assert matcher.find("the pizza express in town") == ["Pizza Express"]
    assert matcher.find("coteau and cotes") == []  # not inside other words
    assert matcher.find("see the faq") == []  # too short to be looked for
    assert matcher.find("a night at rosa s, or Rosa's") == ["Rosa's", "Rosa's"]
    assert matcher.mentions([("Cote or Rosa's?", 0.5), ("and Cote", 1.0), ("Cote", 0.0)]) == {
        "Cote": 1.0,
        "Rosa's": 0.5,
    }


def test_a_title_other_documents_use_as_a_phrase_is_not_a_name() -> None:
    chunks = [
        ("Register a vehicle", "Bring the title certificate to the office."),
        ("Insurance", "You must insure a car before you register a vehicle."),
        ("Insurance", "To register a vehicle you need proof of insurance."),
        ("Birch Manor", "Birch Manor has a garden."),
        ("Birch Manor", "Quiet rooms."),
        ("Alder Lodge", "Guests said Alder Lodge beats Birch Manor."),
        ("Get a CDL", "Commercial licences need a medical exam."),
    ]
    # "Register a vehicle" is an everyday phrase elsewhere, "Get a CDL" a description that
    # not even its own text uses; the others name themselves, more than others name them.
    assert name_titles(chunks) == ["Alder Lodge", "Birch Manor", "Insurance"]


def test_the_names_follow_ingest_and_removal(
    hotels_kb: KnowledgeBase, make_kb, tmp_path: Path
) -> None:
    parts = [("Is Cedar House or Alder Lodge quieter?", 1.0)]
    assert hotels_kb._bm25.named_titles(parts) == {"Cedar House": 1.0, "Alder Lodge": 1.0}
    reopened = make_kb()  # the names are saved with the BM25 index
    reopened.search("warm up", k=1)
    assert reopened._bm25.named_titles(parts) == {"Cedar House": 1.0, "Alder Lodge": 1.0}
    hotels_kb.remove(str(tmp_path / "hotels.jsonl"))
    assert hotels_kb._bm25.named_titles(parts) == {}
