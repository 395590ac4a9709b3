"""Seed training examples from an export of resolved tickets (CSV or JSONL).

Each ticket becomes a good-rated row: the customer's message as the user turn, the
resolution as the assistant answer, in conversation ``ticket:<ticket_id>``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuning.formats import FeedbackRow


@dataclass
class SeedLoad:
    rows: list[FeedbackRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each, "record N: problem"


def read_ticket_seeds(
    path: str | Path,
    id_field: str = "ticket_id",
    question_field: str = "customer_message",
    answer_field: str = "resolution",
) -> SeedLoad:
    """Read tickets from ``.csv`` or JSON lines; skip incomplete ones.

    Raises ValueError when a CSV lacks one of the three columns.
    """
    path = Path(path)
    fields = (id_field, question_field, answer_field)
    records = _read_csv(path, fields) if path.suffix.lower() == ".csv" else _read_jsonl(path)
    result = SeedLoad()
    for n, record in enumerate(records, start=1):
        if record is None:
            result.skipped.append(f"record {n}: not a JSON object")
            continue
        values = {f: _text(record.get(f)) for f in fields}
        missing = [f for f, v in values.items() if not v]
        if missing:
            result.skipped.append(f"record {n}: empty {', '.join(missing)}")
            continue
        result.rows.append(
            ticket_to_row(values[id_field], values[question_field], values[answer_field])
        )
    return result


def ticket_to_row(ticket_id: str, customer_message: str, resolution: str) -> FeedbackRow:
    return FeedbackRow(
        messages=(
            {"role": "user", "content": customer_message},
            {"role": "assistant", "content": resolution},
        ),
        rating="good",
        conversation_id=f"ticket:{ticket_id}",
        origin="seed",
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _read_csv(path: Path, required: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        yield from reader


def _read_jsonl(path: Path) -> Iterator[Mapping[str, Any] | None]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            yield obj if isinstance(obj, dict) else None
