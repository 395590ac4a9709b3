from __future__ import annotations

import pytest

from assistant.engine import AnswerResult
from assistant.prompt import DECLINE_ANSWER
from assistant.store import SourceRef
from tuning.evaluate import EvalExample, example_from_record, metrics_of, scored_row
from tuning.metrics import declines, rouge_l, token_f1


def test_token_f1_on_known_strings():
    assert token_f1("The cat sat", "cat sat down") == pytest.approx(0.8)
    assert token_f1("Hold the reset button.", "hold reset button") == 1.0
    assert token_f1("blue", "red") == 0.0


def test_rouge_l_on_known_strings():
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    # LCS "the cat sat on mat" = 5 of 6 tokens on each side
    assert rouge_l("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(5 / 6)
    assert rouge_l("nothing shared", "the cat") == 0.0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (DECLINE_ANSWER, True),
        ("I\u2019m not sure which plan you have.", True),
        ("The sources do not cover refunds for gift cards.", True),
        ("Please escalate this to a senior agent.", True),
        ("Open Settings > Security [1]. If that fails, escalate to a senior agent.", False),
        ("The LED blinks blue while pairing [1].", False),
        ("", False),
    ],
)
def test_declines(answer, expected):
    assert declines(answer) is expected


def answered(text: str, sources: list[SourceRef] = ()) -> AnswerResult:
    status = "declined" if text == DECLINE_ANSWER else "complete"
    return AnswerResult("c", 2, 1, text, status, list(sources), "scripted", None)


def test_scores_split_answerable_and_unanswerable_rows():
    examples = [
        EvalExample([{"role": "user", "content": "q1"}], "reset the hub", answerable=True),
        EvalExample([{"role": "user", "content": "q2"}], "refunds take five days"),
        EvalExample([{"role": "user", "content": "q3"}], DECLINE_ANSWER),  # inferred unanswerable
        EvalExample([{"role": "user", "content": "q4"}], None, answerable=False),
    ]
    answers = ["reset the hub", "I don't know.", DECLINE_ANSWER, "Sure, it costs $5."]

    rows = [scored_row(e, answered(a), 0.1) for e, a in zip(examples, answers, strict=True)]
    metrics = metrics_of(rows)

    assert metrics["rouge_l"] == pytest.approx(0.5) and metrics["scored"] == 2
    assert metrics["unanswerable"] == 2 and metrics["examples"] == 4
    assert metrics["declined_unanswerable"] == metrics["decline_rate_unanswerable"] == 0.5
    assert metrics["declined_answerable"] == metrics["declined_answerable_rate"] == 0.5


def test_support_citations_and_gold_hits_are_scored_from_the_answers_sources():
    source = SourceRef(
        1, "pw-0", "/kb/manuals/account-password-reset.md", text="Open Settings to reset it."
    )
    example = EvalExample(
        [{"role": "user", "content": "Reset?"}],
        "Open Settings.",
        gold_ids=["account-password-reset.md"],
    )
    cited = scored_row(example, answered("Open Settings to reset it [1].", [source]), 0.1)
    miscited = scored_row(example, answered("Call us on Sundays [1].", [source]), 0.1)

    metrics = metrics_of([cited, miscited])

    assert cited["gold_source_hit"] and cited["citations_valid"] and cited["support"] == 1.0
    assert not miscited["citations_valid"] and miscited["support"] < 0.5
    assert metrics["citations_all_valid"] == 0.5 and metrics["gold_source_hit_rate"] == 1.0


def test_eval_rows_take_a_question_or_messages():
    assert example_from_record({"question": "Why?", "reference": "Because."}).prompt == [
        {"role": "user", "content": "Why?"}
    ]
    conversation = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Why?"},
    ]
    example = example_from_record({"messages": conversation, "gold_sources": ["t-1"]})
    assert example.prompt == conversation and example.gold_ids == ["t-1"]
    with pytest.raises(ValueError, match="needs a 'question'"):
        example_from_record({"reference": "x"})
