"""Hybrid search: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from retrieval.bm25_index import BM25Index
from retrieval.embeddings import Embedder
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.store import ChromaIndex, StoredChunk
from retrieval.types import KINDS, Hit

CANDIDATES_PER_HIT = 4
MIN_CANDIDATES = 20
_HIT_FIELDS = frozenset(
    {"source", "kind", "title", "section", "record_id", "page", "content_hash",
     "chunk_index", "chunk_count"}
)  # fmt: skip


def metadata_filter(kind: str | None, product: str | None) -> dict[str, Any] | None:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    conditions: list[dict[str, Any]] = []
    if kind is not None:
        conditions.append({"kind": kind})
    if product is not None:
        conditions.append({"product": product})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


class HybridSearcher:
    def __init__(self, store: ChromaIndex, bm25: BM25Index, embedder: Embedder) -> None:
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder

    def search(
        self, query: str, k: int = 5, kind: str | None = None, product: str | None = None
    ) -> list[Hit]:
        where = metadata_filter(kind, product)
        if not query.strip() or k <= 0:
            return []
        pool = max(k * CANDIDATES_PER_HIT, MIN_CANDIDATES)
        query_vector = self.embedder.embed_query(query)
        dense = self.store.query(query_vector, pool, where)
        sparse = self.bm25.search(query, pool, kind=kind, product=product)
        fused = reciprocal_rank_fusion(
            [[chunk.id for chunk in dense], [chunk_id for chunk_id, _ in sparse]]
        )
        top = fused[:k]

        known: dict[str, StoredChunk] = {chunk.id: chunk for chunk in dense}
        missing = [chunk_id for chunk_id, _ in top if chunk_id not in known]
        fetched = self.store.get(missing, with_embeddings=True)
        hits = []
        for chunk_id, score in top:
            if chunk_id in known:
                chunk = known[chunk_id]
                similarity = float(chunk.similarity or 0.0)
            elif chunk_id in fetched:  # a BM25-only hit: score it against the query too
                chunk, vector = fetched[chunk_id]
                similarity = float(np.dot(query_vector, vector))
            else:  # deleted since the BM25 index was built
                continue
            hits.append(_hit(chunk, score, similarity))
        return hits


def _hit(chunk: StoredChunk, score: float, similarity: float) -> Hit:
    metadata = chunk.metadata
    page = metadata.get("page")
    return Hit(
        id=chunk.id,
        record_id=str(metadata.get("record_id", chunk.id)),
        source=str(metadata.get("source", "")),
        title=str(metadata.get("title", "")),
        section=str(metadata.get("section", "")),
        kind=str(metadata.get("kind", "")),
        page=int(page) if isinstance(page, int) else None,
        score=score,
        similarity=similarity,
        text=chunk.text,
        metadata={key: value for key, value in metadata.items() if key not in _HIT_FIELDS},
    )
