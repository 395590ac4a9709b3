"""A round's evaluation: the adapter in service and the candidate on the eval split, then the
candidate and the base model on the shipped corpora eval where it can run, all answered
through the served model form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.model_prep import BaseModelRef
from assistant.settings import Settings
from tuning.evaluate import EvalExample, EvalReport, evaluate_examples
from tuning.events import Progress, ignore

CANDIDATE = "candidate"
SHIPPED_CANDIDATE = "candidate (shipped eval)"
SHIPPED_BASE = "base (shipped eval)"


@dataclass
class RoundEvaluation:
    before: EvalReport
    after: EvalReport
    served_form: str
    shipped_note: str  # what the shipped eval ran on, or why it did not run
    shipped_after: EvalReport | None = None
    shipped_base: EvalReport | None = None

    @property
    def shipped(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if self.shipped_after is None or self.shipped_base is None:
            return None
        return self.shipped_after.metrics, self.shipped_base.metrics

    def shipped_summary(self) -> dict[str, Any]:
        """What the shipped eval ran on (or why not), and its metrics for candidate and base."""
        shipped = self.shipped
        if shipped is None:
            return {"note": self.shipped_note}
        return {"note": self.shipped_note, "candidate": shipped[0], "base": shipped[1]}

    def to_dict(self, with_rows: bool = False) -> dict[str, Any]:
        reports = {"before": self.before, "after": self.after}
        if self.shipped_after is not None and self.shipped_base is not None:
            reports |= {"shipped_candidate": self.shipped_after, "shipped_base": self.shipped_base}
        return {
            "served_form": self.served_form,
            "shipped_eval": self.shipped_note,
            **{name: report.to_dict(with_rows) for name, report in reports.items()},
        }


def evaluate_round(
    settings: Settings,
    base: BaseModelRef,
    candidate_dir: Path,
    incumbent: str | None,
    incumbent_dir: Path | None,
    examples: list[EvalExample],
    limit: int | None = None,
    max_new_tokens: int | None = None,
    progress: Progress = ignore,
) -> RoundEvaluation:
    from assistant.app import shipped_corpora
    from tuning.eval_answers import eval_settings, open_answerer
    from tuning.shipped_eval import shipped_examples

    answerer = open_answerer(eval_settings(settings, max_new_tokens), base)
    try:
        answerer.use(incumbent, incumbent_dir)
        before = evaluate_examples(answerer, examples, progress, incumbent or "base")
        answerer.use(CANDIDATE, candidate_dir)
        after = evaluate_examples(answerer, examples, progress, CANDIDATE)
        evaluation = RoundEvaluation(before, after, answerer.served_form, "")
        shipped, evaluation.shipped_note = shipped_examples(
            answerer.knowledge_base, shipped_corpora()
        )
        if shipped is not None:
            shipped = shipped[:limit]
            evaluation.shipped_after = evaluate_examples(
                answerer, shipped, progress, SHIPPED_CANDIDATE
            )
            answerer.use(None)
            evaluation.shipped_base = evaluate_examples(answerer, shipped, progress, SHIPPED_BASE)
    finally:
        answerer.close()
    return evaluation
