import json

import pytest

from tuning.formats import (
    FeedbackRow,
    parse_feedback_row,
    read_feedback_jsonl,
    to_dpo,
    to_eval,
    to_kto,
    to_sft,
)

SOURCE = {"n": 1, "title": "Router manual", "source": "manuals/router.md", "text": "Reset..."}


def full_row(**overrides):
    row = {
        "messages": [
            {"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": "How do I reset my router?"},
            {"role": "assistant", "content": "Unplug it."},
        ],
        "rating": "bad",
        "correction": "Hold the reset button for ten seconds.",
        "reason": "incomplete",
        "conversation_id": "conv-1",
        "turn_id": 3,
        "sources": [SOURCE],
    }
    row.update(overrides)
    return row


def test_parse_full_row_round_trips():
    obj = full_row()
    row = parse_feedback_row(obj)
    assert row.rating == "bad"
    assert row.answer == "Unplug it."
    assert row.target == "Hold the reset button for ten seconds."
    assert [m["role"] for m in row.prompt] == ["system", "user"]
    assert row.sources[0].title == "Router manual"
    assert row.to_dict() == obj


def test_parse_minimal_good_row():
    row = parse_feedback_row(
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
            "rating": "good",
            "extra": "ignored",
        }
    )
    assert row.target == "hello"
    assert row.correction is None and row.conversation_id is None and row.sources == ()
    assert "extra" not in row.to_dict()


def test_numeric_conversation_id_and_blank_correction_are_normalised():
    row = parse_feedback_row(full_row(conversation_id=42, correction="  "))
    assert row.conversation_id == "42"
    assert row.correction is None
    assert row.target is None


BAD_ROWS = [
    ([1, 2], "expected a JSON object"),
    (full_row(rating="ok"), "'rating' must be 'good' or 'bad'"),
    (full_row(messages=[]), "'messages' must be a non-empty list"),
    (full_row(messages="hi"), "'messages' must be a non-empty list"),
    (full_row(messages=["hi"]), "messages[0] must be an object"),
    (full_row(messages=[{"role": "bot", "content": "x"}]), "messages[0].role must be one of"),
    (full_row(messages=[{"role": "user", "content": 5}]), "messages[0].content must be a string"),
    (full_row(messages=[{"role": "user", "content": "q"}]), "last message must be the assistant"),
    (
        full_row(
            messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]
        ),
        "the flagged assistant answer is empty",
    ),
    (
        full_row(
            messages=[{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]
        ),
        "no user message before the flagged answer",
    ),
    (full_row(rating="good"), "'correction' is only allowed with rating 'bad'"),
    (full_row(correction=3), "'correction' must be a string"),
    (full_row(reason=["x"]), "'reason' must be a string"),
    (full_row(conversation_id=""), "'conversation_id' must be a non-empty string"),
    (full_row(conversation_id=True), "'conversation_id' must be a non-empty string"),
    (full_row(turn_id=1.5), "'turn_id' must be an integer or a string"),
    (full_row(sources={"n": 1}), "'sources' must be a list"),
    (full_row(sources=[{**SOURCE, "n": "1"}]), "sources[0].n must be an integer"),
    (full_row(sources=[{**SOURCE, "text": None}]), "sources[0].text must be a string"),
]


@pytest.mark.parametrize(("obj", "message"), BAD_ROWS)
def test_invalid_rows_name_the_problem(obj, message):
    with pytest.raises(ValueError) as err:
        parse_feedback_row(obj, where="row 12")
    text = str(err.value)
    assert text.startswith("row 12: ")
    assert message in text
    assert "\n" not in text


def test_read_jsonl_keeps_good_lines_and_reports_bad_ones(tmp_path):
    lines = [
        json.dumps(full_row()),
        "",
        "{not json",
        json.dumps(full_row(rating="meh")),
        json.dumps(full_row(conversation_id="conv-2", rating="good", correction=None)),
        json.dumps([1]),
    ]
    path = tmp_path / "feedback.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_feedback_jsonl(path)
    assert [r.conversation_id for r in result.rows] == ["conv-1", "conv-2"]
    assert len(result.errors) == 3
    assert result.errors[0].startswith("line 3: invalid JSON")
    assert result.errors[1] == "line 4: 'rating' must be 'good' or 'bad'"
    assert result.errors[2].startswith("line 6: expected a JSON object")


def good_row() -> FeedbackRow:
    return parse_feedback_row(full_row(rating="good", correction=None))


def corrected_row() -> FeedbackRow:
    return parse_feedback_row(full_row())


def uncorrected_row() -> FeedbackRow:
    return parse_feedback_row(full_row(correction=None))


def test_sft_good_keeps_answer_and_corrected_bad_uses_correction():
    good = to_sft(good_row())
    assert good["messages"] == [dict(m) for m in good_row().messages]
    corrected = to_sft(corrected_row())
    assert corrected["messages"][:-1] == corrected_row().prompt
    assert corrected["messages"][-1] == {
        "role": "assistant",
        "content": "Hold the reset button for ten seconds.",
    }
    assert to_sft(uncorrected_row()) is None


def test_metadata_columns_are_kept():
    record = to_sft(corrected_row())
    assert record["conversation_id"] == "conv-1"
    assert record["reason"] == "incomplete"
    assert record["sources"] == [SOURCE]


def test_dpo_pair_only_for_corrected_bad():
    pair = to_dpo(corrected_row())
    assert pair["prompt"] == corrected_row().prompt
    assert pair["chosen"] == [
        {"role": "assistant", "content": "Hold the reset button for ten seconds."}
    ]
    assert pair["rejected"] == [{"role": "assistant", "content": "Unplug it."}]
    assert to_dpo(good_row()) is None
    assert to_dpo(uncorrected_row()) is None


def test_kto_labels():
    def labels(row):
        return [(r["completion"][0]["content"], r["label"]) for r in to_kto(row)]

    assert labels(good_row()) == [("Unplug it.", True)]
    assert labels(uncorrected_row()) == [("Unplug it.", False)]
    assert labels(corrected_row()) == [
        ("Hold the reset button for ten seconds.", True),
        ("Unplug it.", False),
    ]
    assert all(r["prompt"] == good_row().prompt for r in to_kto(good_row()))


def test_eval_example_has_question_messages_and_reference():
    example = to_eval(corrected_row())
    assert example["messages"] == corrected_row().prompt
    assert example["messages"][-1]["role"] == "user"
    assert example["reference"] == "Hold the reset button for ten seconds."
    assert to_eval(uncorrected_row()) is None


def test_trl_recognises_the_conversational_shapes():
    data_utils = pytest.importorskip("trl.data_utils")
    records = [to_sft(good_row()), to_dpo(corrected_row()), *to_kto(corrected_row())]
    assert all(data_utils.is_conversational(r) for r in records)
    unpaired = data_utils.unpair_preference_dataset(
        pytest.importorskip("datasets").Dataset.from_list([to_dpo(corrected_row())])
    )
    ours = to_kto(corrected_row())
    assert [(r["completion"], r["label"]) for r in unpaired] == [
        (r["completion"], r["label"]) for r in ours
    ]
