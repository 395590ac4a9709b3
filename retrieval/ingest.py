"""Ingest files into the index: only new or changed sources are parsed, embedded and written.

Chroma is the record of what is indexed: every chunk carries its source, the source's content
hash and the number of chunks in that version. Chunk ids are derived from (source, content
hash, position), so writes are idempotent upserts. For each changed source the new chunks are
written first and the old version's chunks deleted after, so an ingest killed at any point
leaves either the old version, or an incomplete new version that the next run (seeing that
not all of its chunks exist) writes again and completes, without duplicates.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from retrieval.chunking import Chunk, Chunker, chunk_id
from retrieval.embeddings import Embedder
from retrieval.errors import RetrievalError
from retrieval.loaders import LoadError, RecordFields, is_supported, load_file
from retrieval.settings import IndexSettings
from retrieval.store import ChromaIndex, StoredChunk
from retrieval.types import FileIssue, IngestEvent, IngestReport

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestEvent], None]
_CHUNKER_VERSION = "1"
WRITE_BATCH_SIZE = 256
RECORD_SUFFIXES = frozenset({".csv", ".jsonl", ".ndjson"})


@dataclass
class _PendingSource:
    source: str
    chunks: list[Chunk]
    stale_ids: list[str]


def normalise_source(path: Path | str) -> str:
    return str(Path(path).expanduser().resolve())


def discover_files(paths: list[Path], report: IngestReport) -> list[Path]:
    """Files named, and files under folders named (hidden ones skipped), in a stable order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            report.failed.append(FileIssue(str(path), "no such file or folder; check the path"))
    unique = dict.fromkeys(normalise_source(path) for path in found)
    return [Path(path) for path in unique]


class Ingester:
    def __init__(
        self,
        settings: IndexSettings,
        store: ChromaIndex,
        embedder: Embedder,
        write_batch_size: int | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.write_batch_size = write_batch_size or WRITE_BATCH_SIZE

    def run(
        self,
        paths: list[Path],
        kind: str,
        fields: RecordFields,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        report = IngestReport()
        emit = progress or (lambda event: None)
        files = discover_files(paths, report)
        report.files_seen = len(files)

        pending: list[_PendingSource] = []
        for done, path in enumerate(files, start=1):
            emit(IngestEvent("load", done - 1, len(files), str(path)))
            source = self._prepare(path, kind, fields, report)
            if source is not None:
                pending.append(source)
        emit(IngestEvent("load", len(files), len(files), None))

        total = sum(len(source.chunks) for source in pending)
        embedded = written = 0
        for source in pending:
            embeddings = self.embedder.embed(
                [chunk.embedding_text for chunk in source.chunks],
                on_batch=lambda count, base=embedded, name=source.source: emit(
                    IngestEvent("embed", base + count, total, name)
                ),
            )
            embedded += len(source.chunks)
            for start in range(0, len(source.chunks), self._batch_size):
                batch = source.chunks[start : start + self._batch_size]
                self.store.upsert(
                    [chunk.id for chunk in batch],
                    embeddings[start : start + len(batch)],
                    [chunk.text for chunk in batch],
                    [chunk.metadata for chunk in batch],
                )
                written += len(batch)
                emit(IngestEvent("write", written, total, source.source))
            self.store.delete(source.stale_ids)
            report.files_indexed += 1
            report.chunks_added += len(source.chunks)
            report.chunks_replaced += len(source.stale_ids)
        return report

    @property
    def _batch_size(self) -> int:
        return max(1, min(self.write_batch_size, self.store.max_batch_size))

    def _prepare(
        self, path: Path, kind: str, fields: RecordFields, report: IngestReport
    ) -> _PendingSource | None:
        """Load and chunk ``path`` if it is new or changed; record anything else in ``report``."""
        source = str(path)
        if not is_supported(path):
            report.skipped.append(
                FileIssue(source, f"unsupported file type '{path.suffix or path.name}'; skipped")
            )
            return None
        try:
            data = self._read(path)
            content_hash = self._content_hash(path, data, kind, fields)
            existing = self.store.source_chunks(source)
            if self._is_current(source, content_hash, existing):
                report.files_unchanged += 1
                report.chunks_unchanged += len(existing)
                return None
            document = load_file(path, data, fields)
            chunks = self._chunker.chunk(document, kind, content_hash)
            if not chunks:
                raise LoadError("no text found after parsing; check the file's contents")
        except LoadError as error:
            report.failed.append(FileIssue(source, str(error)))
            return None
        except RetrievalError:  # the index itself (unreachable, unwritable): stop the run
            raise
        except Exception as error:  # one unreadable file must not stop the others
            # the reason is reported on one line; the traceback only in debug logging
            logger.debug("failed to load %s", source, exc_info=True)
            report.failed.append(
                FileIssue(source, f"unexpected {type(error).__name__}: {error}; leave it out")
            )
            return None
        report.warnings.extend(FileIssue(source, warning) for warning in document.warnings)
        new_ids = {chunk.id for chunk in chunks}
        stale = [chunk.id for chunk in existing if chunk.id not in new_ids]
        return _PendingSource(source, chunks, stale)

    def _read(self, path: Path) -> bytes:
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        try:
            size = path.stat().st_size
            if size > limit:
                raise LoadError(
                    f"file is {size / 1024 / 1024:.1f} MB, over the {self.settings.max_file_mb:g}"
                    " MB limit; split it or raise max_file_mb"
                )
            return path.read_bytes()
        except PermissionError as error:
            raise LoadError("permission denied; make the file readable") from error
        except OSError as error:
            raise LoadError(f"cannot read file ({error.strerror}); check it") from error

    def _content_hash(self, path: Path, data: bytes, kind: str, fields: RecordFields) -> str:
        """A hash of the bytes and of every option that shapes this file's chunks."""
        options = [
            f"chunker={_CHUNKER_VERSION}",
            f"tokens={self.settings.chunk_tokens}",
            f"overlap={self.settings.chunk_overlap}",
            f"model={self.embedder.label}",
            f"kind={kind}",
        ]
        if path.suffix.lower() in RECORD_SUFFIXES:
            options.append(fields.signature())
        digest = hashlib.sha256(data)
        digest.update("|".join(options).encode("utf-8"))
        return digest.hexdigest()

    @staticmethod
    def _is_current(source: str, content_hash: str, existing: list[StoredChunk]) -> bool:
        if not existing:
            return False
        count = existing[0].metadata.get("chunk_count")
        if not isinstance(count, int):
            return False
        expected = {chunk_id(source, content_hash, index) for index in range(count)}
        return {chunk.id for chunk in existing} == expected

    @cached_property
    def _chunker(self) -> Chunker:
        return Chunker(
            self.embedder.tokenizer, self.settings.chunk_tokens, self.settings.chunk_overlap
        )
