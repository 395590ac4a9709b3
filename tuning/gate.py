"""The promotion gate: a candidate replaces the adapter in service only if it is not worse."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRIMARY_METRIC = "rouge_l"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    metric: str
    candidate: float | None
    incumbent: float | None
    delta: float | None
    margin: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    candidate: dict[str, Any],
    incumbent: dict[str, Any],
    margin: float,
    metric: str = PRIMARY_METRIC,
) -> Decision:
    """Promote when candidate[metric] >= incumbent[metric] - margin (both measured)."""
    new, old = candidate.get(metric), incumbent.get(metric)
    if new is None or old is None:
        return Decision(
            False,
            f"no {metric} to compare (the eval split has no references)",
            metric,
            new,
            old,
            None,
            margin,
        )
    delta = round(new - old, 4)
    if new >= old - margin:
        verdict = "better" if delta > 0 else "not worse than the margin allows"
        return Decision(
            True, f"{metric} {new:.4f} vs {old:.4f}: {verdict}", metric, new, old, delta, margin
        )
    return Decision(
        False,
        f"{metric} {new:.4f} vs {old:.4f}: worse by more than {margin}",
        metric,
        new,
        old,
        delta,
        margin,
    )
