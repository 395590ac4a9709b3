"""`deskloop feedback export`: every flagged answer in one of TRL's dataset shapes."""

from __future__ import annotations

from typing import Any

from assistant.settings import Settings
from assistant.store import Store
from tuning.dataset import build_dataset
from tuning.feedback_rows import store_feedback_rows

FORMATS = {"sft": "train_sft", "dpo": "dpo", "kto": "kto"}


def export_feedback(settings: Settings, fmt: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(records, dataset report): all rows scrubbed and deduplicated, none held out."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    store = Store(settings.store_url)
    try:
        rows = store_feedback_rows(store)
    finally:
        store.close()
    build = build_dataset(
        rows,
        eval_fraction=0.0,
        seed=settings.training.seed,
        pii_phone_regions=settings.training.pii_phone_regions,
    )
    return getattr(build, FORMATS[fmt]), build.report
