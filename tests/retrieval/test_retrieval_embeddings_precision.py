"""Embedder precision: bf16 autocast where the CPU has native bf16, fp32 otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from retrieval import IndexSettings, KnowledgeBase
from retrieval import embeddings as embeddings_module
from retrieval.embeddings import PACKAGED_MODEL_LABEL, Embedder, shared_embedder

TEXTS = [
    "How long does a refund take once the parcel reaches the warehouse?",
    "Hold the WPS button for three seconds until the blue light blinks.",
    "printer jam",
    "To reset the router to factory settings, press the recessed button with a paper clip "
    "for ten seconds; every setting, including the Wi-Fi password, goes back to its default.",
    "My student loan payment did not show up on the account after two weeks.",
]

needs_native_bf16 = pytest.mark.skipif(
    not embeddings_module.cpu_has_native_bf16(),
    reason="this CPU has neither AMX nor AVX512_BF16: bf16 would be emulated (slow)",
)


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    return shared_embedder(None, "cpu", "float32")


@pytest.fixture(scope="module")
def bf16() -> Embedder:
    return shared_embedder(None, "cpu", "bfloat16")


def spy_autocast(embedder: Embedder, monkeypatch) -> list[tuple[bool, torch.dtype]]:
    """Record, for each ``model.encode`` call, whether CPU autocast was on and its dtype."""
    seen: list[tuple[bool, torch.dtype]] = []
    encode = embedder.model.encode

    def recording(*args, **kwargs):
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return encode(*args, **kwargs)

    monkeypatch.setattr(embedder.model, "encode", recording)
    return seen


def test_float32_runs_without_autocast(fp32: Embedder, monkeypatch) -> None:
    seen = spy_autocast(fp32, monkeypatch)
    fp32.embed(TEXTS, batch_size=2)
    assert len(seen) == 3
    assert not any(enabled for enabled, _ in seen)


def test_bfloat16_runs_under_bf16_autocast(bf16: Embedder, monkeypatch) -> None:
    seen = spy_autocast(bf16, monkeypatch)
    vectors = bf16.embed(TEXTS)
    assert seen == [(True, torch.bfloat16)]
    assert not torch.is_autocast_enabled("cpu")  # left on exit
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_float32_is_the_plain_encode(fp32: Embedder) -> None:
    """precision="float32" is the embedder as it was: one plain fp32 encode per batch."""
    ordered = sorted(TEXTS, key=len, reverse=True)  # the embedder's own batch order
    expected = fp32.model.encode(
        ordered,
        batch_size=32,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    assert np.array_equal(fp32.embed(ordered), expected)


@needs_native_bf16
def test_bf16_autocast_vectors_are_close_to_fp32(fp32: Embedder, bf16: Embedder) -> None:
    reference = fp32.embed(TEXTS)
    vectors = bf16.embed(TEXTS)
    cosines = np.sum(vectors * reference, axis=1)
    assert not np.array_equal(vectors, reference)  # bf16 really ran
    assert cosines.min() > 0.999, cosines


def test_auto_follows_the_cpu(monkeypatch) -> None:
    monkeypatch.setattr(embeddings_module, "cpu_has_native_bf16", lambda: True)
    assert Embedder(precision="auto").uses_bf16_autocast
    assert not Embedder(precision="float32").uses_bf16_autocast
    assert not Embedder(device="cuda", precision="auto").uses_bf16_autocast
    monkeypatch.setattr(embeddings_module, "cpu_has_native_bf16", lambda: False)
    assert not Embedder(precision="auto").uses_bf16_autocast
    assert Embedder(precision="bfloat16").uses_bf16_autocast
    assert Embedder().precision == "auto"
    with pytest.raises(ValueError, match="precision"):
        Embedder(precision="float16")  # type: ignore[arg-type]


def test_shared_embedders_are_per_precision() -> None:
    assert shared_embedder(None, "cpu") is shared_embedder(None, "cpu", "auto")
    assert shared_embedder(None, "cpu", "float32") is not shared_embedder(None, "cpu", "bfloat16")


def test_precision_does_not_change_the_index_label(
    tmp_path: Path, fp32: Embedder, bf16: Embedder, manuals_dir: Path
) -> None:
    """An fp32-built index is searched and re-ingested in bf16 without a re-index."""
    assert fp32.label == bf16.label == Embedder().label == PACKAGED_MODEL_LABEL
    settings = IndexSettings(directory=tmp_path / "index")
    built = KnowledgeBase(settings, fp32).ingest([manuals_dir])
    assert built.ok and built.chunks_added > 0
    reopened = KnowledgeBase(settings, bf16)
    again = reopened.ingest([manuals_dir])
    assert again.ok and again.chunks_added == 0 and again.chunks_unchanged == built.chunks_added
    hits = reopened.search("how long until my refund is credited", k=3)
    assert hits and "5 to 7 business days" in hits[0].text
