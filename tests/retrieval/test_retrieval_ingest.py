from collections import Counter
from pathlib import Path

import pytest
from retrieval_corpus import REFUND_MD, write_pdf, write_tickets_csv

from retrieval import IngestEvent, KnowledgeBase, UnknownSourceError
from retrieval import ingest as ingest_module
from retrieval.bm25_index import content_stamp

LONG_GUIDE = "# Modem guide\n\n" + "\n\n".join(
    f"Step {number}: check that cable {number} is seated firmly, then power-cycle the modem."
    for number in range(80)
)


def chunks_by_source(kb: KnowledgeBase) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for metadata in kb._store.all_metadatas():
        grouped.setdefault(metadata["source"], []).append(metadata)
    return grouped


def assert_each_source_complete_once(kb: KnowledgeBase) -> None:
    for source, chunks in chunks_by_source(kb).items():
        assert len({chunk["content_hash"] for chunk in chunks}) == 1, source
        assert sorted(chunk["chunk_index"] for chunk in chunks) == list(
            range(chunks[0]["chunk_count"])
        ), source


def test_ingest_walks_folders_and_reingest_adds_nothing(
    kb: KnowledgeBase, manuals_dir: Path
) -> None:
    events: list[IngestEvent] = []
    report = kb.ingest([manuals_dir], progress=events.append)
    assert report.ok, report.failed
    assert report.files_seen == 4
    assert report.files_indexed == 4
    assert report.chunks_added == kb._store.count() > 0
    assert {event.stage for event in events} == {"load", "embed", "write"}
    assert events[-1].stage == "write" and events[-1].done == events[-1].total

    again = kb.ingest([manuals_dir])
    assert again.chunks_added == 0
    assert again.files_unchanged == 4
    assert again.chunks_unchanged == report.chunks_added
    assert kb._store.count() == report.chunks_added


def test_changed_file_replaces_its_old_chunks(kb: KnowledgeBase, manuals_dir: Path) -> None:
    kb.ingest([manuals_dir])
    refunds = manuals_dir / "refunds.md"
    before = chunks_by_source(kb)[str(refunds)]
    refunds.write_text(REFUND_MD.replace("5 to 7 business days", "10 business days"))

    report = kb.ingest([manuals_dir])
    assert report.files_indexed == 1 and report.files_unchanged == 3
    assert report.chunks_replaced == len(before)
    after = chunks_by_source(kb)[str(refunds)]
    assert {chunk["content_hash"] for chunk in after}.isdisjoint(
        {chunk["content_hash"] for chunk in before}
    )
    texts = [hit.text for hit in kb.search("refund processing time", k=10)]
    assert any("10 business days" in text for text in texts)
    assert not any("5 to 7 business days" in text for text in texts)


def test_remove_deletes_a_source(kb: KnowledgeBase, manuals_dir: Path) -> None:
    kb.ingest([manuals_dir])
    router = str(manuals_dir / "router.rst")
    expected = len(chunks_by_source(kb)[router])
    assert kb.remove(router) == expected
    assert router not in {info.source for info in kb.sources()}
    with pytest.raises(UnknownSourceError, match="deskloop sources"):
        kb.remove(router)
    with pytest.raises(KeyError):
        kb.remove("/nowhere/at/all.md")


def test_sources_lists_titles_and_counts(kb: KnowledgeBase, manuals_dir: Path) -> None:
    assert kb.is_empty()
    kb.ingest([manuals_dir])
    assert not kb.is_empty()
    sources = {Path(info.source).name: info for info in kb.sources()}
    assert sources["refunds.md"].title == "Refund policy"
    assert sources["router.rst"].title == "Router Manual"
    assert sources["help.html"].title == "Account Help"
    assert sum(info.chunks for info in sources.values()) == kb._store.count()
    assert {info.kind for info in sources.values()} == {"manual"}


@pytest.mark.parametrize("interrupt_at_write", [1, 3])
def test_interrupted_ingest_completes_on_rerun_without_duplicates(
    kb: KnowledgeBase, manuals_dir: Path, monkeypatch: pytest.MonkeyPatch, interrupt_at_write: int
) -> None:
    (manuals_dir / "modem.md").write_text(LONG_GUIDE)
    kb.ingest([manuals_dir])
    # Change two files so the interrupted run is half-way through replacing old versions.
    (manuals_dir / "modem.md").write_text(LONG_GUIDE.replace("firmly", "tightly"))
    (manuals_dir / "refunds.md").write_text(REFUND_MD + "\nGift cards are not refundable.\n")
    monkeypatch.setattr(ingest_module, "WRITE_BATCH_SIZE", 2)
    writes = 0

    def crash_mid_write(event: IngestEvent) -> None:
        nonlocal writes
        if event.stage == "write":
            writes += 1
            if writes == interrupt_at_write:
                raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        kb.ingest([manuals_dir], progress=crash_mid_write)

    report = kb.ingest([manuals_dir])
    assert report.ok
    assert report.files_indexed == 2
    assert_each_source_complete_once(kb)
    grouped = chunks_by_source(kb)
    assert len(grouped) == 5
    assert all("seated firmly" not in hit.text for hit in kb.search("cable seated", k=20))
    assert kb._bm25.stamp == content_stamp(kb._store.all_ids())
    assert len(kb._bm25) == kb._store.count()
    assert kb.ingest([manuals_dir]).chunks_added == 0


def test_bad_inputs_are_reported_and_the_rest_indexed(make_kb, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nThe warranty lasts two years.\n")
    (folder / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00binary")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<< broken")
    (folder / "empty.rst").write_bytes(b"")
    (folder / "huge.txt").write_text("lorem ipsum " * 2000)
    (folder / "latin1.txt").write_bytes("Garantie: deux ann\xe9es compl\xe8tes.".encode("latin-1"))
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not supported")
    (folder / "no_text.csv").write_text("number,owner\n1,alice\n")
    write_pdf(folder / "manual.pdf", ["Hold the power button for five seconds."])
    write_tickets_csv(folder / "tickets.csv")
    kb = make_kb(max_file_mb=0.01)

    report = kb.ingest([folder, tmp_path / "missing.md"])
    reasons = {Path(issue.path).name: issue.reason for issue in report.failed}
    assert set(reasons) == {
        "binary.txt", "corrupt.pdf", "empty.rst", "huge.txt", "no_text.csv", "missing.md"
    }  # fmt: skip
    assert "binary" in reasons["binary.txt"]
    assert "corrupt" in reasons["corrupt.pdf"]
    assert "empty" in reasons["empty.rst"]
    assert "limit" in reasons["huge.txt"] and "max_file_mb" in reasons["huge.txt"]
    assert "--text-field" in reasons["no_text.csv"]
    assert "no such file" in reasons["missing.md"]
    assert all(reason and "\n" not in reason for reason in reasons.values())
    assert not report.ok
    assert [Path(issue.path).name for issue in report.skipped] == ["notes.docx"]
    assert [Path(issue.path).name for issue in report.warnings] == ["latin1.txt"]
    assert "decoded as cp1252" in report.warnings[0].reason

    indexed = {Path(info.source).name for info in kb.sources()}
    assert indexed == {"good.md", "latin1.txt", "manual.pdf", "tickets.csv"}
    pdf_hits = [hit for hit in kb.search("power button", k=3) if hit.source.endswith(".pdf")]
    assert pdf_hits and pdf_hits[0].page == 1
    assert "années" in kb.search("garantie", k=1)[0].text
    assert report.to_dict()["failed"][0].keys() == {"path", "reason"}


def test_record_ids_are_unique_per_chunk(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([write_tickets_csv(tmp_path / "tickets.csv")], tickets=True)
    record_ids = Counter(metadata["record_id"] for metadata in kb._store.all_metadatas())
    assert record_ids == {"T-1001": 1, "T-1002": 1, "T-1003": 1}
    assert kb.record_ids() == {"T-1001", "T-1002", "T-1003"}
