"""The detector on text with no injection in it: every sentence of the shipped corpora and of
the public help-desk sets (manuals, agent guidelines, FAQ answers, customer messages).

A flagged sentence there is a look-alike the detector mistook: it would be kept out of
evidence and prompts for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assistant.answering.injection import instruction_flags, source_flags
from assistant.answering.text import answer_part, split_units
from retrieval.loaders import RecordFields, load_file

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


def shipped_units() -> Iterator[str]:
    files = [*sorted((CORPORA / "manuals").iterdir()), CORPORA / "tickets" / "tickets.csv"]
    for path in files:
        document = load_file(path, path.read_bytes(), RecordFields())
        for section in document.sections:
            yield from (unit.text for unit in split_units(answer_part(section.text)))


def jsonl_units(path: Path, field: str) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield from (unit.text for unit in split_units(json.loads(line)[field]))


def public_sources(data: Path) -> dict[str, Iterator[str]]:
    manuals = data / "manuals"
    return {
        "multidoc2dial passages": jsonl_units(data / "multidoc2dial/passages.jsonl", "text"),
        "dstc11 knowledge": jsonl_units(data / "dstc11_track5/knowledge.jsonl", "text"),
        "bitext responses": jsonl_units(data / "bitext/public.jsonl", "response"),
        "syncthing + restic manuals": (
            unit
            for name in ("syncthing", "restic")
            for unit in jsonl_units(manuals / name / "chunks.jsonl", "text")
        ),
        "abcd agent guidelines": (
            unit.text for unit in split_units((data / "abcd/guidelines.md").read_text())
        ),
    }


def customer_messages(data: Path) -> Iterator[str]:
    with (data / "bitext/public.jsonl").open(encoding="utf-8") as lines:
        yield from (json.loads(line)["instruction"] for line in lines)
    with (data / "dstc11_track5/public.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            turns = json.loads(line)["context"]
            yield from (turn["text"] for turn in turns if turn["speaker"] == "U")


def count(texts: Iterator[str], flags) -> dict:
    scanned, flagged = 0, []
    for text in texts:
        scanned += 1
        if flags(text):
            flagged.append(text[:160])
    return {"sentences": scanned, "flagged": len(flagged), "examples": flagged[:3]}


def scan(data: Path | None) -> dict:
    """Look-alikes flagged per corpus: as source sentences, and customer messages as such."""
    found = {"korvo corpora (shipped)": count(shipped_units(), source_flags)}
    if data is not None and (data / "bitext").is_dir():
        for name, units in public_sources(data).items():
            found[name] = count(units, source_flags)
        found["customer messages (bitext, dstc11)"] = count(
            customer_messages(data), instruction_flags
        )
    return found
