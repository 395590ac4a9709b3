"""The retrieval package's front door: ingest, search, list and remove sources."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from retrieval.bm25_index import BM25Index, IndexedChunk, content_stamp
from retrieval.chunking import embedding_text
from retrieval.embeddings import Embedder, shared_embedder
from retrieval.ingest import RECORD_SUFFIXES, Ingester, normalise_source
from retrieval.loaders import RecordFields
from retrieval.search import HybridSearcher
from retrieval.settings import IndexSettings
from retrieval.store import ChromaIndex
from retrieval.types import Hit, IngestEvent, IngestReport, SourceInfo, UnknownSourceError


class KnowledgeBase:
    """Cheap to construct: Chroma opens, and the embedding model loads, on first need."""

    def __init__(self, settings: IndexSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._bm25 = BM25Index(settings.bm25_directory)
        self._lock = threading.RLock()  # ingest, remove and the BM25 refresh are exclusive

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder(self.settings.embedding_model, self.settings.device)
        return self._embedder

    @cached_property
    def _store(self) -> ChromaIndex:
        return ChromaIndex(self.settings, self.embedder.label)  # the label needs no model load

    def ingest(
        self,
        paths: Sequence[Path | str],
        tickets: bool = False,
        id_field: str | None = None,
        text_field: str | None = None,
        title_field: str | None = None,
        progress: Callable[[IngestEvent], None] | None = None,
    ) -> IngestReport:
        """Index files and folders. ``tickets`` marks everything ingested as kind "ticket".

        CSV and JSON Lines files are always read as records (one per row or line);
        the field options say which fields hold each record's id, text and title.
        """
        fields = RecordFields(id_field, text_field, title_field)
        kind = "ticket" if tickets else "manual"
        ingester = Ingester(self.settings, self._store, self.embedder)
        with self._lock:
            try:
                return ingester.run([Path(path) for path in paths], kind, fields, progress)
            finally:
                self._refresh_bm25(force=True)

    def search(
        self, query: str, k: int = 5, kind: str | None = None, product: str | None = None
    ) -> list[Hit]:
        """The best ``k`` chunks for a text, or for a conversation's `build_query`."""
        # While an ingest holds the lock, search the BM25 index as it was; it refreshes after.
        if self._lock.acquire(blocking=False):
            try:
                self._refresh_bm25()
            finally:
                self._lock.release()
        return HybridSearcher(self._store, self._bm25, self.embedder).search(
            query, k=k, kind=kind, product=product
        )

    def vocabulary(self) -> frozenset[str]:
        """The stemmed words of everything indexed: what the knowledge base can speak about."""
        with self._lock:
            self._refresh_bm25()
        return self._bm25.vocabulary()

    def sources(self) -> list[SourceInfo]:
        """Indexed sources. A manual's title is its document title; a record file's, its name."""
        chunks: Counter[str] = Counter()
        first: dict[str, dict] = {}
        for metadata in self._store.all_metadatas():
            source = str(metadata.get("source", ""))
            chunks[source] += 1
            if source not in first or metadata.get("chunk_index") == 0:
                first[source] = metadata
        return [
            SourceInfo(
                source=source,
                kind=str(first[source].get("kind", "")),
                chunks=count,
                title=_source_title(source, first[source]),
            )
            for source, count in sorted(chunks.items())
        ]

    def record_ids(self) -> frozenset[str]:
        """The record id of every indexed chunk (a ticket's id; a manual section's own)."""
        return frozenset(
            str(m["record_id"]) for m in self._store.all_metadatas() if m.get("record_id")
        )

    def remove(self, source: str) -> int:
        """Delete every chunk of ``source``; returns how many were removed."""
        with self._lock:
            for candidate in dict.fromkeys((normalise_source(source), str(source))):
                ids = [chunk.id for chunk in self._store.source_chunks(candidate)]
                if ids:
                    self._store.delete(ids)
                    self._refresh_bm25(force=True)
                    return len(ids)
        raise UnknownSourceError(f"no indexed source '{source}'; list them with `deskloop sources`")

    def is_empty(self) -> bool:
        return self._store.count() == 0

    def _refresh_bm25(self, force: bool = False) -> None:
        """Keep BM25 in step with Chroma: reload the saved index, or rebuild it from Chroma."""
        if not force and self._bm25.stamp is not None and len(self._bm25) == self._store.count():
            return
        stamp = content_stamp(self._store.all_ids())
        if self._bm25.stamp == stamp or self._bm25.load(stamp):
            return
        chunks = [
            IndexedChunk(
                id=chunk.id,
                text=embedding_text(
                    str(chunk.metadata.get("title", "")),
                    str(chunk.metadata.get("section", "")),
                    chunk.text,
                ),
                kind=str(chunk.metadata.get("kind", "")),
                product=_optional_str(chunk.metadata.get("product")),
                title=str(chunk.metadata.get("title", "")),
                body=chunk.text,
            )
            for chunk in self._store.all_chunks()
        ]
        self._bm25.rebuild(chunks, stamp)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _source_title(source: str, metadata: dict) -> str:
    if Path(source).suffix.lower() in RECORD_SUFFIXES:
        return Path(source).name
    return str(metadata.get("title") or Path(source).stem)
