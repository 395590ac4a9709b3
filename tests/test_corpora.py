"""The shipped sample knowledge base loads cleanly with the product's own loaders."""

import csv
import json

from assistant.app import shipped_corpora
from retrieval.loaders import load_file

CORPORA = shipped_corpora()


def test_every_manual_loads_with_a_title_and_sections():
    manuals = sorted((CORPORA / "manuals").iterdir())
    assert len(manuals) >= 20
    assert {m.suffix for m in manuals} >= {".md", ".html", ".rst", ".txt", ".pdf"}
    for manual in manuals:
        document = load_file(manual, manual.read_bytes())
        assert document.title, manual
        assert sum(len(s.text.split()) for s in document.sections) > 150, manual
        assert not document.warnings, (manual, document.warnings)


def test_the_pdf_keeps_its_page_numbers():
    pdf = next((CORPORA / "manuals").glob("*.pdf"))
    pages = {s.page for s in load_file(pdf, pdf.read_bytes()).sections}
    assert pages >= {1, 2}


def test_every_ticket_becomes_one_record_with_its_own_id():
    path = CORPORA / "tickets" / "tickets.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        expected = [row["ticket_id"] for row in csv.DictReader(handle)]
    assert len(expected) >= 150
    records = load_file(path, path.read_bytes()).sections
    assert [r.record_id for r in records] == expected
    assert all("Resolution" in r.text or "resolution" in r.text.lower() for r in records)


def test_eval_questions_name_sources_that_exist():
    rows = [json.loads(line) for line in (CORPORA / "eval" / "questions.jsonl").open()]
    manuals = {p.name for p in (CORPORA / "manuals").iterdir()}
    with (CORPORA / "tickets" / "tickets.csv").open(newline="", encoding="utf-8") as handle:
        tickets = {row["ticket_id"] for row in csv.DictReader(handle)}
    assert {r["kind"] for r in rows} == {"manual", "ticket", "none"}
    for row in rows:
        assert row["question"] and row["reference"]
        assert row["answerable"] == (row["kind"] != "none")
        assert set(row["gold_sources"]) <= manuals | tickets, row["gold_sources"]
