import json
import random

import pytest

from tuning.dataset import (
    DatasetBuild,
    build_dataset,
    content_hash,
    to_hf_dataset,
    write_build,
    write_jsonl,
)
from tuning.formats import Source
from tuning.seed import ticket_to_row
from tuning.split import EVAL, TRAIN

VOCAB = [f"w{i:03d}x" for i in range(400)]


def words(rng: random.Random, n: int = 10) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def conversation_rows(make_row, index: int, turns: int, with_id: bool = True):
    """Rows of one multi-turn conversation; each row carries the turns before it."""
    rng = random.Random(index)
    rows, history = [], ()
    for t in range(turns):
        question, answer = words(rng), words(rng)
        kind = (index + t) % 3
        rows.append(
            make_row(
                question=question,
                answer=answer,
                history=history,
                rating="good" if kind == 0 else "bad",
                correction=words(rng) if kind == 1 else None,
                conversation_id=f"conv-{index}" if with_id else None,
            )
        )
        history = (*history, (question, answer))
    return rows


def many_rows(make_row, conversations: range):
    rows = []
    for i in conversations:
        rows += conversation_rows(make_row, i, turns=1 + i % 4, with_id=i % 5 != 0)
    return rows


def conversation_ids(records):
    return {r["conversation_id"] for r in records}


def test_shapes_for_a_known_mix(make_row):
    rows = [
        make_row(question="q good", answer="a good", conversation_id="g"),
        make_row(
            question="q fixed",
            answer="wrong",
            rating="bad",
            correction="right",
            reason="wrong model",
            conversation_id="f",
        ),
        make_row(question="q bad", answer="meh", rating="bad", conversation_id="b"),
    ]
    build = build_dataset(rows, eval_fraction=0.0)
    assert [r["messages"][-1]["content"] for r in build.train_sft] == ["a good", "right"]
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in build.dpo] == [
        ("right", "wrong")
    ]
    assert [(r["completion"][0]["content"], r["label"]) for r in build.kto] == [
        ("a good", True),
        ("right", True),
        ("wrong", False),
        ("meh", False),
    ]
    assert build.eval == []
    assert build.report["sizes"] == {"train_sft": 2, "eval": 0, "dpo": 1, "kto": 4}
    assert build.report["ratings"] == {"good": 1, "bad": 2}
    assert build.report["corrected"] == 1
    assert build.assignments == {"g": TRAIN, "f": TRAIN, "b": TRAIN}


def test_pii_is_scrubbed_everywhere_before_anything_else(make_row):
    source = Source(
        1, "Mail from jane@example.com", "tickets.csv", "Card 4111 1111 1111 1111 was charged"
    )
    rows = [
        make_row(
            question="I am jane@example.com, call me at +44 20 7946 0958",
            answer="Your IP 192.168.0.12 is blocked",
            rating="bad",
            correction="Refund to IBAN GB82 WEST 1234 5698 7654 32 is on its way",
            reason="customer SSN 536-90-4399 mentioned",
            sources=(source,),
            conversation_id="c1",
        )
    ]
    build = build_dataset(rows, eval_fraction=0.0)
    dumped = json.dumps([build.train_sft, build.dpo, build.kto])
    for secret in ("jane@example.com", "7946", "4111", "192.168", "GB82", "536-90"):
        assert secret not in dumped
    for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[IP]", "[IBAN]", "[SSN]"):
        assert placeholder in dumped
    assert build.report["pii_masked"] == {
        "EMAIL": 2,
        "IBAN": 1,
        "CARD": 1,
        "SSN": 1,
        "IP": 1,
        "PHONE": 1,
        "ADDRESS": 0,
        "NAME": 0,
    }


def test_no_conversation_on_both_sides(make_row):
    rows = many_rows(make_row, range(400))
    assert len(rows) > 900
    build = build_dataset(rows, eval_fraction=0.2)
    train_ids = conversation_ids(build.train_sft + build.dpo + build.kto)
    eval_ids = conversation_ids(build.eval)
    assert eval_ids and train_ids
    assert not train_ids & eval_ids
    assert all(build.assignments[cid] == TRAIN for cid in train_ids)
    assert all(build.assignments[cid] == EVAL for cid in eval_ids)
    # Rows without an id were grouped by conversation, not scattered one per row.
    derived = {cid for cid in build.assignments if cid.startswith("content:")}
    assert len(derived) == 80
    assert len(build.assignments) == 400
    eval_questions = {r["messages"][-1]["content"] for r in build.eval}
    train_prompts = {m["content"] for r in build.train_sft for m in r["messages"]}
    assert not eval_questions & train_prompts


def test_earlier_eval_conversations_stay_eval_when_data_grows(make_row):
    first = build_dataset(many_rows(make_row, range(150)), eval_fraction=0.15)
    second = build_dataset(
        many_rows(make_row, range(450)), eval_fraction=0.15, assignments=first.assignments
    )
    assert {cid: second.assignments[cid] for cid in first.assignments} == first.assignments
    first_eval = {json.dumps(r, sort_keys=True) for r in first.eval}
    second_eval = {json.dumps(r, sort_keys=True) for r in second.eval}
    assert first_eval <= second_eval
    assert len(second_eval) > len(first_eval)
    newly_trained = conversation_ids(second.train_sft)
    assert not newly_trained & conversation_ids(first.eval)


def test_duplicates_are_removed_and_feedback_beats_seed(make_row):
    question = "How do I update the firmware on the Router X from the admin page?"
    answer = "Open the admin page, go to System > Firmware and press Update now."
    rows = [
        make_row(question=question, answer=answer, conversation_id="a"),
        make_row(question=question.upper(), answer=answer, conversation_id="b"),
        make_row(question=question.replace("admin", "admn"), answer=answer, conversation_id="c"),
    ]
    seeds = [ticket_to_row("T-1", question, answer), ticket_to_row("T-2", "Other?", "Yes.")]
    build = build_dataset(rows, seed_rows=seeds, eval_fraction=0.0, near_dup_threshold=0.8)
    assert build.report["duplicates_removed"] == {"exact": 2, "near": 1}
    assert [r["conversation_id"] for r in build.train_sft] == ["a", "ticket:T-2"]
    assert build.report["rows_in"] == {"feedback": 3, "seed": 2}
    assert build.report["rows_kept"] == 2
    no_near = build_dataset(rows, seed_rows=seeds, eval_fraction=0.0, near_dup_threshold=None)
    assert no_near.report["duplicates_removed"] == {"exact": 2, "near": 0}


def test_eval_examples_need_a_reference(make_row):
    rows = [
        make_row(
            question=f"question {i} " + "x" * i,
            answer=f"answer {i}",
            rating="bad",
            conversation_id=f"c{i}",
        )
        for i in range(40)
    ]
    build = build_dataset(rows, eval_fraction=0.3)
    n_eval = sum(side == EVAL for side in build.assignments.values())
    assert n_eval > 0
    assert build.eval == []
    assert build.report["eval_rows_without_reference"] == n_eval
    assert all(not r["label"] for r in build.kto)


def test_report_hashes_are_deterministic_and_track_train_content(make_row):
    rows = many_rows(make_row, range(60))
    a = build_dataset(rows, eval_fraction=0.2)
    b = build_dataset(list(rows), eval_fraction=0.2)
    assert a.report["train_sha256"] == b.report["train_sha256"]
    assert a.report["eval_sha256"] == b.report["eval_sha256"]
    train_conv = next(cid for cid, side in a.assignments.items() if side == TRAIN)
    changed = [
        make_row(
            question="new question text", answer="new answer text", conversation_id=train_conv
        ),
        *rows,
    ]
    c = build_dataset(changed, eval_fraction=0.2, assignments=a.assignments)
    assert c.report["train_sha256"] != a.report["train_sha256"]
    assert c.report["eval_sha256"] == a.report["eval_sha256"]
    assert content_hash({"x": 1, "y": 2}) == content_hash({"y": 2, "x": 1})


def test_train_hash_depends_only_on_sft_records(make_row):
    rows = many_rows(make_row, range(60))
    a = build_dataset(rows, eval_fraction=0.2)
    train_conv = next(cid for cid, side in a.assignments.items() if side == TRAIN)
    bad_only = make_row(
        question="uncorrected question",
        answer="a bad answer",
        rating="bad",
        conversation_id=train_conv,
    )
    b = build_dataset([bad_only, *rows], eval_fraction=0.2, assignments=a.assignments)
    assert len(b.kto) == len(a.kto) + 1 and b.train_sft == a.train_sft
    assert b.report["train_sha256"] == a.report["train_sha256"]


def test_seed_changes_the_split_salt(make_row):
    rows = many_rows(make_row, range(200))
    a = build_dataset(rows, eval_fraction=0.2, seed=0)
    b = build_dataset(rows, eval_fraction=0.2, seed=1)
    assert a.assignments != b.assignments


def test_write_jsonl_round_trips_and_is_atomic(tmp_path):
    path = tmp_path / "out.jsonl"
    records = [{"messages": [{"role": "user", "content": "héllo"}]}, {"n": 2}]
    assert write_jsonl(path, records) == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == records

    def failing():
        yield {"ok": 1}
        yield {"bad": object()}

    with pytest.raises(TypeError):
        write_jsonl(path, failing())
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == records
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_build_writes_every_file(tmp_path, make_row):
    build = build_dataset(many_rows(make_row, range(30)), eval_fraction=0.2)
    paths = write_build(tmp_path / "round-1", build)
    assert set(paths) == {"train_sft", "eval", "dpo", "kto", "report"}
    for name in ("train_sft", "eval", "dpo", "kto"):
        lines = paths[name].read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(getattr(build, name))
    assert json.loads(paths["report"].read_text())["sizes"] == build.report["sizes"]


def test_hf_datasets_load_the_records(make_row):
    build = build_dataset(many_rows(make_row, range(30)), eval_fraction=0.0)
    assert isinstance(build, DatasetBuild)
    sft = to_hf_dataset(build.train_sft)
    assert sft.num_rows == len(build.train_sft)
    assert {"messages", "conversation_id", "reason", "sources"} <= set(sft.column_names)
    assert sft[0]["messages"] == build.train_sft[0]["messages"]
    kto = to_hf_dataset(build.kto)
    assert sorted(kto.unique("label")) == [False, True]
