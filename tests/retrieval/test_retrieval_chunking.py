from pathlib import Path

from retrieval.chunking import Chunker, embedding_text, heading
from retrieval.embeddings import Embedder
from retrieval.loaders import LoadedDocument, Section, load_file

LONG_SECTION = " ".join(
    f"Step {number}: check that cable {number} is seated firmly, then power-cycle the modem."
    for number in range(120)
)


def make_chunker(embedder: Embedder, tokens: int = 64, overlap: int = 16) -> Chunker:
    return Chunker(embedder.tokenizer, tokens, overlap)


def test_chunks_fit_the_token_budget_and_overlap(embedder: Embedder) -> None:
    chunker = make_chunker(embedder)
    document = LoadedDocument("/docs/modem.txt", "Modem", [Section(LONG_SECTION, "Setup")])
    chunks = chunker.chunk(document, "manual", "hash" * 16)
    assert len(chunks) > 10
    assert all(chunker.count_tokens(chunk.text) <= 64 for chunk in chunks)
    first_words = chunks[1].text.split()[:3]
    assert " ".join(first_words) in chunks[0].text  # consecutive chunks overlap
    assert [chunk.metadata["chunk_index"] for chunk in chunks] == list(range(len(chunks)))
    assert {chunk.metadata["chunk_count"] for chunk in chunks} == {len(chunks)}


def test_chunk_metadata_and_deterministic_ids(embedder: Embedder, tmp_path: Path) -> None:
    path = tmp_path / "faq.md"
    path.write_text("# FAQ\n\n## Shipping\n\nWe ship worldwide.\n")
    document = load_file(path, path.read_bytes())
    chunker = make_chunker(embedder)
    first = chunker.chunk(document, "manual", "a" * 64)
    again = chunker.chunk(document, "manual", "a" * 64)
    assert [chunk.id for chunk in first] == [chunk.id for chunk in again]
    metadata = first[0].metadata
    assert metadata["source"] == str(path)
    assert metadata["title"] == "FAQ"
    assert metadata["section"] == "FAQ > Shipping"
    assert metadata["record_id"] == f"{path}#FAQ > Shipping"
    assert metadata["content_hash"] == "a" * 64
    assert metadata["kind"] == "manual"
    assert first[0].id != chunker.chunk(document, "manual", "b" * 64)[0].id


def test_short_record_stays_one_chunk(embedder: Embedder) -> None:
    record = Section("Customer: my kettle leaks.\n\nResolution: replaced the seal.", record_id="K1")
    document = LoadedDocument("/t.csv", "t", [record])
    chunks = make_chunker(embedder).chunk(document, "ticket", "c" * 64)
    assert len(chunks) == 1
    assert chunks[0].text == record.text
    assert chunks[0].metadata["record_id"] == "K1"


def test_embedding_text_carries_title_and_section_once() -> None:
    text = embedding_text("Refund policy", "Refund policy > Processing time", "Takes 5 days.")
    assert text == "Refund policy > Processing time\nTakes 5 days."
    assert embedding_text("", "", "plain") == "plain"


def test_a_heading_names_the_title_once() -> None:
    assert heading("Ignoring Files", "Ignoring Files > Description") == (
        "Ignoring Files > Description"
    )
    assert heading("Billing", "Refunds > Timing") == "Billing > Refunds > Timing"
    assert heading("Billing", "") == "Billing"
    assert heading("", "Refunds") == "Refunds"
