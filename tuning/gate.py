"""The promotion gate: a candidate replaces the adapter in service only if it is not worse.

Not worse on ROUGE-L against the reference answers (within ``promotion_margin``), and not
worse on what makes an answer sendable (within ``guard_margin``): support by its sources,
valid citations, declining what the sources cannot answer, and not declining what they can.
Where the shipped corpora eval ran, the same holds against the base model there. Too few eval
rows decide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIMARY_METRIC = "rouge_l"
# guard metric -> whether a higher value is better
GUARDS = {
    "support": True,
    "citations_all_valid": True,
    "declined_unanswerable": True,
    "declined_answerable": False,
}
MORE_ROWS = (
    "flag more answers in the app, or import corrected conversations with "
    "'deskloop feedback import FILE.jsonl'"
)
_TOLERANCE = 1e-9  # float noise must not turn "exactly the margin" into "worse"


@dataclass(frozen=True)
class Check:
    against: str  # what the candidate is compared with, and on which questions
    metric: str
    candidate: float | None
    reference: float | None
    margin: float
    higher_is_better: bool = True
    required: bool = False  # an unmeasured required metric fails; an unmeasured guard passes

    @property
    def measured(self) -> bool:
        return self.candidate is not None and self.reference is not None

    @property
    def delta(self) -> float | None:
        return round(self.candidate - self.reference, 4) if self.measured else None

    @property
    def passed(self) -> bool:
        if not self.measured:
            return not self.required
        worse_by = self.reference - self.candidate
        if not self.higher_is_better:
            worse_by = -worse_by
        return worse_by <= self.margin + _TOLERANCE

    def describe(self) -> str:
        if not self.measured:
            return f"no {self.metric} to compare with {self.against}"
        return (
            f"{self.metric} {self.candidate:.4f} vs {self.reference:.4f} of {self.against} "
            f"(margin {self.margin})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "metric": self.metric,
            "candidate": self.candidate,
            "reference": self.reference,
            "delta": self.delta,
            "margin": self.margin,
            "higher_is_better": self.higher_is_better,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Margins:
    primary: float
    guard: float
    min_eval_rows: int

    @classmethod
    def from_settings(cls, training: Any) -> Margins:
        return cls(training.promotion_margin, training.guard_margin, training.min_eval_rows)


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    checks: tuple[Check, ...] = ()
    eval_rows: int | None = None
    min_eval_rows: int | None = None
    shipped_eval: str = ""  # whether the shipped corpora eval ran, and why not

    def to_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "eval_rows": self.eval_rows,
            "min_eval_rows": self.min_eval_rows,
            "shipped_eval": self.shipped_eval,
            "checks": [c.to_dict() for c in self.checks],
        }


def compare(
    against: str, candidate: dict[str, Any], reference: dict[str, Any], margins: Margins
) -> list[Check]:
    """The primary metric and every guard metric, candidate against ``reference``."""
    checks = [
        Check(
            against,
            PRIMARY_METRIC,
            candidate.get(PRIMARY_METRIC),
            reference.get(PRIMARY_METRIC),
            margins.primary,
            required=True,
        )
    ]
    for metric, higher_is_better in GUARDS.items():
        checks.append(
            Check(
                against,
                metric,
                candidate.get(metric),
                reference.get(metric),
                margins.guard,
                higher_is_better,
            )
        )
    return checks


def decide(
    candidate: dict[str, Any],
    incumbent: dict[str, Any],
    margins: Margins,
    eval_rows: int,
    incumbent_name: str = "the adapter in service",
    shipped: tuple[dict[str, Any], dict[str, Any]] | None = None,
    shipped_note: str = "",
) -> Decision:
    """Promote or not. ``shipped``: (candidate, base) metrics on the shipped corpora eval, or
    None when it could not run (``shipped_note`` says why)."""
    checks = compare(f"{incumbent_name} on the eval split", candidate, incumbent, margins)
    if shipped is not None:
        checks += compare("base on the shipped eval", shipped[0], shipped[1], margins)
    failed = [c for c in checks if not c.passed]
    record = {
        "checks": tuple(checks),
        "eval_rows": eval_rows,
        "min_eval_rows": margins.min_eval_rows,
        "shipped_eval": shipped_note,
    }
    if eval_rows < margins.min_eval_rows:
        reason = (
            f"too few eval rows to decide ({eval_rows}, training.min_eval_rows is "
            f"{margins.min_eval_rows}): {MORE_ROWS}"
        )
        return Decision(False, reason, **record)
    if failed:
        reason = "worse: " + "; ".join(c.describe() for c in failed)
        return Decision(False, reason, **record)
    primary = checks[0]
    reason = f"not worse: {primary.describe()}, and no guard metric worse"
    reason += "; not worse than base on the shipped eval" if shipped is not None else ""
    if shipped is None and shipped_note:
        reason += f" (shipped eval not run: {shipped_note})"
    return Decision(True, reason, **record)
