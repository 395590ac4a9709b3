"""Loaders for record files (ticket exports, passage dumps): CSV and JSON Lines."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.loaders.document import LoadedDocument, LoadError, MetadataValue, Section
from retrieval.loaders.text_decoding import decode_text

DEFAULT_ID_FIELDS = ("id", "ticket_id", "pid", "record_id", "kid")
DEFAULT_TITLE_FIELDS = ("title", "subject", "doc_title")
DEFAULT_SECTION_FIELDS = ("section",)
# Tried in order; a tuple of several fields is combined (labelled) when all are present.
DEFAULT_TEXT_FIELDS: tuple[tuple[str, ...], ...] = (
    ("text",),
    ("customer_message", "resolution"),
    ("question", "answer"),
    ("instruction", "response"),
    ("body",),
    ("content",),
    ("customer_message",),
    ("message",),
    ("description",),
)
# Field names our own chunk metadata uses; record fields with these names get a prefix.
RESERVED_METADATA = frozenset(
    {"source", "kind", "title", "section", "record_id", "content_hash", "page",
     "chunk_index", "chunk_count", "embedding_model"}
)  # fmt: skip
_MAX_METADATA_CHARS = 500


@dataclass(frozen=True)
class RecordFields:
    """Which record fields hold the id, text and title; ``None`` picks a usual name."""

    id_field: str | None = None
    text_field: str | None = None  # "a,b" combines several fields
    title_field: str | None = None

    def signature(self) -> str:
        return f"id={self.id_field}|text={self.text_field}|title={self.title_field}"


def load_csv(path: Path, data: bytes, fields: RecordFields) -> LoadedDocument:
    decoded = decode_text(data)
    dialect = csv.excel()
    # Only the delimiter is sniffed: quoting guesses go wrong on quoted multi-line cells.
    with contextlib.suppress(csv.Error):
        dialect.delimiter = csv.Sniffer().sniff(decoded.text[:4096], ",;\t|").delimiter
    reader = csv.DictReader(io.StringIO(decoded.text, newline=""), dialect=dialect)
    try:
        rows = [(number, row) for number, row in enumerate(reader, start=2)]
    except csv.Error as error:
        raise LoadError(f"malformed CSV ({error}); fix the file or export it again") from error
    columns = list(reader.fieldnames or [])
    return _records_document(path, rows, columns, fields, decoded.warning, "column")


def load_jsonl(path: Path, data: bytes, fields: RecordFields) -> LoadedDocument:
    decoded = decode_text(data)
    rows: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    bad: list[str] = []  # a broken line loses that line only, not the file's other records
    for number, line in enumerate(decoded.text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            bad.append(f"line {number} is not valid JSON ({error.msg})")
            continue
        if not isinstance(row, dict):
            bad.append(f"line {number} is not a JSON object")
            continue
        rows.append((number, row))
        columns.update(dict.fromkeys(row))
    if bad and not rows:
        raise LoadError(f"{bad[0]}; each line must be one JSON record: fix the file")
    warning = decoded.warning
    if bad:
        skipped = (
            f"skipped {len(bad)} broken line(s), the other records indexed (first: {bad[0]}); "
            "fix them and ingest the file again"
        )
        warning = f"{warning}; {skipped}" if warning else skipped
    return _records_document(path, rows, list(columns), fields, warning, "field")


def _records_document(
    path: Path,
    rows: Sequence[tuple[int, dict[str, Any]]],
    columns: list[str],
    fields: RecordFields,
    warning: str | None,
    noun: str,
) -> LoadedDocument:
    if not rows:
        raise LoadError("no records found; check that the file has a header row and data")
    id_field = _pick_single(fields.id_field, DEFAULT_ID_FIELDS, columns, noun, "--id-field")
    title_field = _pick_single(
        fields.title_field, DEFAULT_TITLE_FIELDS, columns, noun, "--title-field"
    )
    section_field = next((name for name in DEFAULT_SECTION_FIELDS if name in columns), None)
    text_fields = _pick_text_fields(fields.text_field, columns, noun)
    used = {id_field, title_field, section_field, *text_fields}

    sections: list[Section] = []
    for number, row in rows:
        text = _record_text(row, text_fields)
        if not text:
            continue
        record_id = _clean(row.get(id_field)) if id_field else ""
        sections.append(
            Section(
                text=text,
                heading=_clean(row.get(section_field)) if section_field else "",
                record_id=record_id or f"{path.name}:{number}",
                title=_clean(row.get(title_field)) if title_field else None,
                metadata=_record_metadata(row, used),
            )
        )
    if not sections:
        raise LoadError(
            f"every record has an empty {'/'.join(text_fields)} {noun}; "
            "pick another one with --text-field"
        )
    return LoadedDocument(
        source=str(path), title=path.stem, sections=sections, warnings=[warning] if warning else []
    )


def _pick_single(
    chosen: str | None, defaults: Iterable[str], columns: list[str], noun: str, option: str
) -> str | None:
    if chosen is None:
        return next((name for name in defaults if name in columns), None)
    if chosen not in columns:
        raise LoadError(
            f"{noun} '{chosen}' not found (has: {_list(columns)}); pass {option} with one of them"
        )
    return chosen


def _pick_text_fields(chosen: str | None, columns: list[str], noun: str) -> tuple[str, ...]:
    if chosen is not None:
        wanted = tuple(name.strip() for name in chosen.split(",") if name.strip())
        missing = [name for name in wanted if name not in columns]
        if missing or not wanted:
            raise LoadError(
                f"text {noun} '{chosen}' not found (has: {_list(columns)}); "
                "pass --text-field with one of them"
            )
        return wanted
    for candidate in DEFAULT_TEXT_FIELDS:
        if all(name in columns for name in candidate):
            return candidate
    raise LoadError(
        f"no text {noun} found (has: {_list(columns)}); pass --text-field to say which holds "
        "the text"
    )


def _record_text(row: dict[str, Any], text_fields: tuple[str, ...]) -> str:
    values = [(name, _clean(row.get(name))) for name in text_fields]
    values = [(name, value) for name, value in values if value]
    if len(text_fields) == 1 or len(values) <= 1:
        return values[0][1] if values else ""
    return "\n\n".join(f"{name.replace('_', ' ').capitalize()}: {value}" for name, value in values)


def _record_metadata(row: dict[str, Any], used: set[str | None]) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {}
    for key, value in row.items():
        if key in used or key is None or not str(key).strip():
            continue
        name = f"field_{key}" if key in RESERVED_METADATA else str(key)
        if isinstance(value, bool | int | float):
            metadata[name] = value
        elif isinstance(value, str) and value.strip():
            metadata[name] = value.strip()[:_MAX_METADATA_CHARS]
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(item, str | int | float) for item in value)
        ):
            metadata[name] = ", ".join(str(item) for item in value)[:_MAX_METADATA_CHARS]
    return metadata


def _clean(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _list(columns: list[str]) -> str:
    shown = ", ".join(columns[:12])
    return shown + (", ..." if len(columns) > 12 else "") if columns else "nothing"
