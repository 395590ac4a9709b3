"""Hybrid search: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion.

A query is weighted parts (`retrieval.query`): the dense side searches with the weighted sum
of the parts' embeddings, the BM25 side adds the parts' scores up by weight. When the parts
name titles that work as names (`retrieval.titles`), a third list ranks those titles' chunks
by similarity to the question alone (the last part), scaled by how recently each was named:
the name says what the question is about, the question says which passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.bm25_index import BM25Index
from retrieval.embeddings import Embedder
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.query import query_parts
from retrieval.store import ChromaIndex, StoredChunk
from retrieval.types import KINDS, Hit

CANDIDATES_PER_HIT = 4
MIN_CANDIDATES = 100
NAMED_TITLE_WEIGHT = 2.0  # the fusion weight of the named titles' list; dense and BM25 weigh 1
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
        parts = [part for part in query_parts(query) if part.text.strip() and part.weight > 0]
        if not parts or k <= 0:
            return []
        pool = max(k * CANDIDATES_PER_HIT, MIN_CANDIDATES)
        vectors = self.embedder.embed_remembered([part.text for part in parts])
        query_vector = combine(vectors, [part.weight for part in parts])
        dense = self.store.query(query_vector, pool, where)
        keywords = [(part.text, part.weight) for part in parts]
        sparse = self.bm25.search(keywords, pool, kind=kind, product=product)
        rankings = [[chunk.id for chunk in dense], [chunk_id for chunk_id, _ in sparse]]
        weights = [1.0, 1.0]
        named = self.bm25.named_titles(keywords)
        if named:
            rankings.append(self.named_title_ranking(named, vectors[-1], pool, where))
            weights.append(NAMED_TITLE_WEIGHT)
        top = reciprocal_rank_fusion(rankings, weights)[:k]

        known: dict[str, StoredChunk] = {chunk.id: chunk for chunk in dense}
        missing = [chunk_id for chunk_id, _ in top if chunk_id not in known]
        fetched = self.store.get(missing, with_embeddings=True)
        hits = []
        for chunk_id, score in top:
            if chunk_id in known:
                chunk = known[chunk_id]
                similarity = float(chunk.similarity or 0.0)
            elif chunk_id in fetched:  # not from the dense list: score it against the query too
                chunk, vector = fetched[chunk_id]
                similarity = float(np.dot(query_vector, vector))
            else:  # deleted since the BM25 index was built
                continue
            hits.append(_hit(chunk, score, similarity))
        return hits

    def named_title_ranking(
        self,
        named: dict[str, float],
        question_vector: np.ndarray,
        pool: int,
        where: dict[str, Any] | None,
    ) -> list[str]:
        """The named titles' chunks, by similarity to the question times the title's weight."""
        condition: dict[str, Any] = {"title": {"$in": sorted(named)}}
        chunks = self.store.query(
            question_vector, pool, condition if where is None else {"$and": [where, condition]}
        )
        scored = [
            (
                float(chunk.similarity or 0.0) * named.get(str(chunk.metadata.get("title")), 0.0),
                chunk.id,
            )
            for chunk in chunks
        ]
        return [chunk_id for score, chunk_id in sorted(scored, key=lambda pair: -pair[0])]


def combine(vectors: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """The weighted sum of unit vectors, normalised."""
    combined = np.asarray(weights, dtype=np.float32) @ vectors
    return combined / max(float(np.linalg.norm(combined)), 1e-12)


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
