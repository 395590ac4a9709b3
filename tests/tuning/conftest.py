from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tuning_samples import feedback_rows_jsonl

from tuning.formats import FeedbackRow, Source


def _make_row(
    question: str = "How do I reset my router?",
    answer: str = "Hold the reset button for ten seconds.",
    rating: str = "good",
    correction: str | None = None,
    reason: str | None = None,
    conversation_id: str | None = "c1",
    history: tuple[tuple[str, str], ...] = (),
    system: str | None = None,
    sources: tuple[Source, ...] = (),
) -> FeedbackRow:
    messages = [{"role": "system", "content": system}] if system else []
    for user, assistant in history:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return FeedbackRow(
        tuple(messages), rating, correction, reason, conversation_id, sources=sources
    )


@pytest.fixture
def make_row() -> Callable[..., FeedbackRow]:
    """Factory for feedback rows: make_row(question=..., answer=..., rating=..., ...)."""
    return _make_row


@pytest.fixture
def tiny_settings(tiny_model_dir, monkeypatch):
    """Settings on the tiny model with a fast training and evaluation configuration."""
    from assistant.settings import load_settings

    monkeypatch.setenv("DESKLOOP_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("DESKLOOP_DEVICE", "cpu")
    monkeypatch.setenv("DESKLOOP_GENERATION__MAX_NEW_TOKENS", "6")
    monkeypatch.setenv("DESKLOOP_TRAINING__BATCH_SIZE", "2")
    monkeypatch.setenv("DESKLOOP_TRAINING__GRAD_ACCUM", "1")
    monkeypatch.setenv("DESKLOOP_TRAINING__MAX_LENGTH", "384")  # the policy and sources fit
    monkeypatch.setenv("DESKLOOP_TRAINING__LORA_R", "4")
    monkeypatch.setenv("DESKLOOP_TRAINING__LORA_ALPHA", "8")
    monkeypatch.setenv("DESKLOOP_TRAINING__LEARNING_RATE", "0.01")
    monkeypatch.setenv("DESKLOOP_TRAINING__EVAL_FRACTION", "0.25")
    return load_settings()


@pytest.fixture
def feedback_file(tmp_path) -> Path:
    import json

    path = tmp_path / "feedback.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in feedback_rows_jsonl()))
    return path
