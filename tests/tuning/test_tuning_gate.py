from __future__ import annotations

import pytest

from tuning.gate import Margins, decide

MARGINS = Margins(primary=0.005, guard=0.05, min_eval_rows=20)
INCUMBENT = {
    "rouge_l": 0.30,
    "support": 0.80,
    "citations_all_valid": 0.90,
    "declined_unanswerable": 0.75,
    "declined_answerable": 0.10,
}


def candidate(**changes: float | None) -> dict:
    return {**INCUMBENT, **changes}


def test_promotes_within_the_margin_and_refuses_beyond_it():
    better = decide(candidate(rouge_l=0.31), INCUMBENT, MARGINS, 40)
    tolerated = decide(candidate(rouge_l=0.296), INCUMBENT, MARGINS, 40)
    worse = decide(candidate(rouge_l=0.29), INCUMBENT, MARGINS, 40)
    unmeasured = decide(candidate(rouge_l=None), INCUMBENT, MARGINS, 40)

    assert better.promote and better.checks[0].delta == pytest.approx(0.01)
    assert tolerated.promote
    assert not worse.promote and "rouge_l 0.2900 vs 0.3000" in worse.reason
    assert not unmeasured.promote and "no rouge_l" in unmeasured.reason


@pytest.mark.parametrize(
    ("change", "metric"),
    [
        ({"support": 0.70}, "support"),
        ({"citations_all_valid": 0.80}, "citations_all_valid"),
        ({"declined_unanswerable": 0.50}, "declined_unanswerable"),
        ({"declined_answerable": 0.20}, "declined_answerable"),
    ],
)
def test_better_on_rouge_l_but_worse_on_a_guard_is_rejected(change, metric):
    decision = decide(candidate(rouge_l=0.40, **change), INCUMBENT, MARGINS, 40, "v0003")

    assert not decision.promote
    assert metric in decision.reason and "v0003 on the eval split" in decision.reason
    failed = [c.metric for c in decision.checks if not c.passed]
    assert failed == [metric]


def test_guards_tolerate_their_margin_and_pass_when_unmeasured():
    within = candidate(support=0.75, declined_answerable=0.15)
    no_unanswerable_rows = candidate(declined_unanswerable=None)

    assert decide(within, INCUMBENT, MARGINS, 40).promote
    assert decide(no_unanswerable_rows, INCUMBENT, MARGINS, 40).promote


def test_too_few_eval_rows_decide_nothing_and_say_how_to_get_more():
    decision = decide(candidate(rouge_l=0.50), INCUMBENT, MARGINS, 19)

    assert not decision.promote
    assert "too few eval rows" in decision.reason and "(19," in decision.reason
    assert "flag more answers" in decision.reason
    assert "deskloop feedback import FILE.jsonl" in decision.reason
    assert decision.to_dict()["eval_rows"] == 19 and len(decision.checks) == 5


def test_worse_than_base_on_the_shipped_eval_is_rejected():
    base = {**INCUMBENT, "support": 0.90}
    on_shipped = (candidate(support=0.60), base)

    rejected = decide(candidate(rouge_l=0.35), INCUMBENT, MARGINS, 40, shipped=on_shipped)
    passed = decide(candidate(), INCUMBENT, MARGINS, 40, shipped=(base, base))

    assert not rejected.promote and "base on the shipped eval" in rejected.reason
    assert passed.promote and "shipped eval" in passed.reason
    assert len(rejected.checks) == 10
