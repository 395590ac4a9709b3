"""The GUIDE's done-when checks on the public data beside the project (skipped without it)."""

from pathlib import Path

import pytest

from retrieval import KnowledgeBase

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SYNCTHING_PAGES = SHARED_DATA / "manuals" / "syncthing" / "pages"
MULTIDOC2DIAL = SHARED_DATA / "multidoc2dial" / "passages.jsonl"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not SYNCTHING_PAGES.is_dir(), reason=f"{SYNCTHING_PAGES} is absent")
def test_syncthing_manual_answers_the_ignore_question(kb: KnowledgeBase) -> None:
    report = kb.ingest([SYNCTHING_PAGES])
    assert report.ok and report.files_indexed == len(list(SYNCTHING_PAGES.glob("*.rst")))
    hits = kb.search("how do I stop syncing some files", k=5)
    assert "users__ignoring.rst" in [Path(hit.source).name for hit in hits]
    assert kb.ingest([SYNCTHING_PAGES]).chunks_added == 0


@pytest.mark.skipif(not MULTIDOC2DIAL.is_file(), reason=f"{MULTIDOC2DIAL} is absent")
def test_multidoc2dial_hits_carry_the_passage_id(kb: KnowledgeBase, tmp_path: Path) -> None:
    import json

    sample = tmp_path / "passages.jsonl"  # the first 300 passages keep this test short
    lines = MULTIDOC2DIAL.read_text(encoding="utf-8").splitlines()[:300]
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    passages = {row["pid"]: row for row in map(json.loads, lines)}

    kb.ingest([sample], id_field="pid", text_field="text", title_field="doc_title")
    wanted = passages["mdd-p00002"]
    hits = kb.search("What happens if I don't pay a toll?", k=5)
    assert all(hit.record_id in passages for hit in hits)
    assert wanted["pid"] in [hit.record_id for hit in hits]
    assert hits[0].title == passages[hits[0].record_id]["doc_title"]
