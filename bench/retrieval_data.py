"""The public evaluation sets in ../shared/data, read into corpora and evaluation cases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPLITS = ("dev", "test", "all")
ROLES = {"user": "user", "agent": "assistant", "U": "user", "S": "assistant"}


@dataclass(frozen=True)
class Corpus:
    """A record file ingested as the public API's users would: with its id/text/title fields."""

    name: str
    path: Path
    id_field: str
    text_field: str
    title_field: str
    records: dict[str, dict[str, Any]] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Case:
    """One question: the conversation up to and including it, and what should be found."""

    messages: list[dict[str, str]]
    gold: frozenset[str]  # record ids, document titles or entity keys, by the metric


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def require(data: Path, *relative: str) -> None:
    for name in relative:
        if not (data / name).is_file():
            raise SystemExit(
                f"error: {data / name} not found; put the shared data at {DEFAULT_DATA} "
                "or pass --data DIR"
            )


def multidoc2dial_corpus(data: Path) -> Corpus:
    path = data / "multidoc2dial" / "passages.jsonl"
    records = {row["pid"]: row for row in read_jsonl(path)}
    return Corpus("multidoc2dial", path, "pid", "text", "doc_title", records)


def dstc11_corpus(data: Path) -> Corpus:
    path = data / "dstc11_track5" / "knowledge.jsonl"
    records = {row["kid"]: row for row in read_jsonl(path)}
    return Corpus("dstc11_track5", path, "kid", "text", "entity_name", records)


def entity_key(record: dict[str, Any]) -> str:
    return f"{record['domain']}:{record['entity_id']}"


def _messages(turns: list[dict[str, Any]], text_key: str, role_key: str) -> list[dict[str, str]]:
    return [{"role": ROLES[turn[role_key]], "content": turn[text_key]} for turn in turns]


def passage_cases(data: Path) -> list[Case]:
    """multidoc2dial questions with a gold passage; gold: passage ids."""
    return [
        Case(_messages(row["history"], "utterance", "role"), frozenset(row["gold_pids"]))
        for row in read_jsonl(data / "multidoc2dial" / "queries_public.jsonl")
        if row.get("gold_pids")
    ]


def document_cases(data: Path) -> list[Case]:
    """Every user turn of the multidoc2dial dialogues whose document is in the corpus."""
    cases = []
    for dialogue in read_jsonl(data / "multidoc2dial" / "dialogues_public.jsonl"):
        turns = dialogue["turns"]
        for position, turn in enumerate(turns):
            if turn["role"] == "user" and turn.get("in_corpus", True) and turn["gold_docs"]:
                messages = _messages(turns[: position + 1], "utterance", "role")
                cases.append(Case(messages, frozenset(turn["gold_docs"])))
    return cases


def snippet_cases(data: Path) -> list[tuple[Case, Case]]:
    """dstc11 knowledge-seeking turns, as (gold snippets, gold entities) pairs of cases."""
    cases = []
    for row in read_jsonl(data / "dstc11_track5" / "public.jsonl"):
        if row.get("target") and row.get("gold_kids"):
            messages = _messages(row["context"], "text", "speaker")
            cases.append(
                (
                    Case(messages, frozenset(row["gold_kids"])),
                    Case(messages, frozenset(row["gold_entity"])),
                )
            )
    return cases


def split_of(case: Case) -> str:
    """The fixed half a case belongs to, "dev" or "test", from a hash of its messages."""
    digest = hashlib.sha256(json.dumps(case.messages, sort_keys=True).encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def in_split(case: Case, split: str) -> bool:
    return split == "all" or split_of(case) == split
