"""Chunks, embeddings and metadata in one Chroma collection: the index's source of truth.

Chroma is never given an embedding function: every write and query passes our embeddings,
so its default (downloading) embedding function is never created.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from retrieval.errors import RetrievalError
from retrieval.settings import IndexSettings
from retrieval.store.client import open_client

_PAGE_SIZE = 2000


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float | None = None


class EmbeddingModelMismatchError(RetrievalError, RuntimeError):
    """The collection was built with another embedding model."""


class ChromaIndex:
    def __init__(self, settings: IndexSettings, embedding_model: str) -> None:
        self.settings = settings
        self.embedding_model = embedding_model

    @cached_property
    def client(self):
        return open_client(self.settings)

    @cached_property
    def collection(self):
        collection = self.client.get_or_create_collection(
            self.settings.collection,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.embedding_model},
            embedding_function=None,
        )
        built_with = (collection.metadata or {}).get("embedding_model")
        if built_with and built_with != self.embedding_model and collection.count() == 0:
            # nothing was ever embedded into it (a run whose model failed to load created
            # it): it binds no model, so it takes this one
            collection.modify(metadata={"embedding_model": self.embedding_model})
        elif built_with and built_with != self.embedding_model:
            raise EmbeddingModelMismatchError(
                f"collection '{self.settings.collection}' was built with embedding model "
                f"{built_with}, not {self.embedding_model}; use that model, or another "
                "collection or index directory"
            )
        return collection

    @cached_property
    def max_batch_size(self) -> int:
        return int(self.client.get_max_batch_size())

    def count(self) -> int:
        return int(self.collection.count())

    def source_chunks(self, source: str) -> list[StoredChunk]:
        result = self.collection.get(where={"source": source}, include=["metadatas"])
        return [
            StoredChunk(chunk_id, "", dict(metadata or {}))
            for chunk_id, metadata in zip(result["ids"], result["metadatas"], strict=True)
        ]

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        self.collection.upsert(
            ids=list(ids), embeddings=embeddings, documents=list(texts), metadatas=list(metadatas)
        )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), self.max_batch_size):
            self.collection.delete(ids=list(ids[start : start + self.max_batch_size]))

    def query(
        self, embedding: np.ndarray, n_results: int, where: dict[str, Any] | None
    ) -> list[StoredChunk]:
        n_results = min(n_results, self.count())
        if n_results <= 0:
            return []
        result = self.collection.query(
            query_embeddings=[embedding],
            n_results=n_results,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(chunk_id, text or "", dict(metadata or {}), 1.0 - float(distance))
            for chunk_id, text, metadata, distance in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> dict[str, Any]:
        """Chunks by id, as {id: (StoredChunk, embedding or None)}."""
        if not ids:
            return {}
        include = ["documents", "metadatas", *(["embeddings"] if with_embeddings else [])]
        result = self.collection.get(ids=list(ids), include=include)
        embeddings = result.get("embeddings")
        found = {}
        for position, chunk_id in enumerate(result["ids"]):
            chunk = StoredChunk(
                chunk_id, result["documents"][position] or "", dict(result["metadatas"][position])
            )
            vector = np.asarray(embeddings[position]) if with_embeddings else None
            found[chunk_id] = (chunk, vector)
        return found

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        for page in self._pages(include=[]):
            ids.extend(page["ids"])
        return ids

    def all_chunks(self) -> Iterator[StoredChunk]:
        for page in self._pages(include=["documents", "metadatas"]):
            for chunk_id, text, metadata in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                yield StoredChunk(chunk_id, text or "", dict(metadata or {}))

    def all_metadatas(self) -> Iterator[dict[str, Any]]:
        for page in self._pages(include=["metadatas"]):
            for metadata in page["metadatas"]:
                yield dict(metadata or {})

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.collection.get(limit=_PAGE_SIZE, offset=offset, include=include)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])
