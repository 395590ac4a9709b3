"""Approved answers served at once: a question that matches an approved one gets its answer.

The question is scrubbed like the stored ones, embedded with the knowledge base's MiniLM,
and compared by cosine with every approved question; the closest ones at or above the
threshold are tried in order, and the first that passes the guard (approved_match) wins.
Only the first question of a conversation is matched: a follow-up leans on the turns
before it, which an approved answer knows nothing about.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from assistant.approved import ApprovedMatch
from assistant.approved_store import ApprovedAnswer
from assistant.store import Store
from retrieval.embeddings import Embedder
from tuning.approved_match import same_request
from tuning.pii import scrub

CANDIDATES = 5  # closest approved questions tried against the guard


def scrub_text(text: str) -> str:
    return scrub(text).text


@dataclass
class _Index:
    version: tuple
    entries: list[ApprovedAnswer]
    vectors: np.ndarray


class ApprovedMatcher:
    """An `assistant.approved.ApprovedLookup` over the store's approved answers."""

    def __init__(self, store: Store, embedder: Embedder, min_similarity: float):
        self.store = store
        self.embedder = embedder
        self.min_similarity = min_similarity
        self._index: _Index | None = None
        self._lock = threading.Lock()

    def match(self, question: str, history: list[dict]) -> ApprovedMatch | None:
        if history or not question.strip():
            return None
        index = self._current_index()
        if not index.entries:
            return None
        asked = scrub_text(question.strip())
        similarities = index.vectors @ self.embedder.embed_query(asked)
        for position in np.argsort(-similarities)[:CANDIDATES]:
            similarity = float(similarities[position])
            if similarity < self.min_similarity:
                break
            entry = index.entries[position]
            if same_request(asked, entry.question):
                return ApprovedMatch(
                    id=entry.id,
                    question=entry.question,
                    answer=entry.answer,
                    created_by=entry.created_by,
                    created_at=entry.created_at,
                    conversation_id=entry.conversation_id,
                    similarity=similarity,
                )
        return None

    def _current_index(self) -> _Index:
        """The approved questions' vectors, rebuilt when the table has changed."""
        approved = self.store.approved
        with self._lock:
            version = approved.version()
            if self._index is None or self._index.version != version:
                entries = self._embedded(approved.entries())
                vectors = np.stack([_vector(e) for e in entries]) if entries else np.zeros((0, 1))
                self._index = _Index(approved.version(), entries, vectors)
            return self._index

    def _embedded(self, entries: list[ApprovedAnswer]) -> list[ApprovedAnswer]:
        """Embed the questions never embedded, or embedded by another model; save them."""
        label = self.embedder.label
        stale = [e for e in entries if e.embedding is None or e.embedding_model != label]
        if stale:
            vectors = self.embedder.embed([e.question for e in stale])
            for entry, vector in zip(stale, vectors, strict=True):
                entry.embedding, entry.embedding_model = vector.astype(np.float32).tobytes(), label
                self.store.approved.save_embedding(entry.id, label, entry.embedding)
        return entries


def _vector(entry: ApprovedAnswer) -> np.ndarray:
    return np.frombuffer(entry.embedding or b"", dtype=np.float32)
