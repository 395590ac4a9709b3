"""Read files into sections ready for chunking; one loader per format."""

from __future__ import annotations

from pathlib import Path

from retrieval.loaders.document import LoadedDocument, LoadError, Section
from retrieval.loaders.manuals import (
    HEADING_SEPARATOR,
    load_html,
    load_markdown,
    load_pdf,
    load_plain_text,
    load_restructuredtext,
)
from retrieval.loaders.records import RecordFields, load_csv, load_jsonl

_DOCUMENT_LOADERS = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".rst": load_restructuredtext,
    ".txt": load_plain_text,
    ".text": load_plain_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}
_RECORD_LOADERS = {".csv": load_csv, ".jsonl": load_jsonl, ".ndjson": load_jsonl}
SUPPORTED_EXTENSIONS = frozenset(_DOCUMENT_LOADERS) | frozenset(_RECORD_LOADERS)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def load_file(path: Path, data: bytes, fields: RecordFields | None = None) -> LoadedDocument:
    """Parse ``data`` (the bytes of ``path``) with the loader for its extension."""
    suffix = path.suffix.lower()
    if suffix in _RECORD_LOADERS:
        return _RECORD_LOADERS[suffix](path, data, fields or RecordFields())
    if suffix in _DOCUMENT_LOADERS:
        return _DOCUMENT_LOADERS[suffix](path, data)
    raise LoadError(f"unsupported file type '{suffix}'")


__all__ = [
    "HEADING_SEPARATOR",
    "SUPPORTED_EXTENSIONS",
    "LoadError",
    "LoadedDocument",
    "RecordFields",
    "Section",
    "is_supported",
    "load_file",
]
