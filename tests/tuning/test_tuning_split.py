import pytest

from tuning.split import EVAL, TRAIN, assign_splits, bucket, derive_conversation_id


def ids(n, start=0):
    return [f"conv-{i}" for i in range(start, n)]


def eval_ids(mapping):
    return {cid for cid, side in mapping.items() if side == EVAL}


def test_bucket_is_deterministic_uniform_and_salted():
    values = [bucket(cid) for cid in ids(4000)]
    assert values == [bucket(cid) for cid in ids(4000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.08 < sum(v < 0.1 for v in values) / len(values) < 0.12
    assert bucket("conv-1", salt="a") != bucket("conv-1", salt="b")


def test_fraction_is_roughly_respected():
    mapping = assign_splits(ids(2000), 0.2)
    assert set(mapping) == set(ids(2000))
    assert 0.17 < len(eval_ids(mapping)) / 2000 < 0.23


def test_more_data_keeps_earlier_sides_with_and_without_stored_mapping():
    first = assign_splits(ids(300), 0.1)
    second = assign_splits(ids(900), 0.1, assignments=first)
    assert {cid: second[cid] for cid in first} == first
    hashed_only = assign_splits(ids(900), 0.1)
    assert {cid: hashed_only[cid] for cid in first} == first


def test_stored_mapping_wins_over_hash_and_fraction_changes():
    first = assign_splits(ids(300), 0.1)
    second = assign_splits(ids(600), 0.3, assignments=first)
    assert {cid: second[cid] for cid in first} == first
    assert len(eval_ids(second) - eval_ids(first)) > 0.2 * 300
    hashed_eval = next(cid for cid in ids(1000) if bucket(cid) < 0.1)
    forced = assign_splits([hashed_eval], 0.1, assignments={hashed_eval: TRAIN})
    assert forced[hashed_eval] == TRAIN


def test_entries_of_absent_conversations_are_kept():
    mapping = assign_splits(["new"], 0.1, assignments={"old-a": EVAL, "old-b": TRAIN})
    assert mapping["old-a"] == EVAL and mapping["old-b"] == TRAIN
    assert "new" in mapping


def test_input_mapping_is_not_modified():
    stored = {"old": TRAIN}
    assign_splits(["x", "y"], 0.5, assignments=stored)
    assert stored == {"old": TRAIN}


def test_small_round_gets_both_sides():
    for n in range(2, 6):
        mapping = assign_splits(ids(n), 0.1)
        assert EVAL in mapping.values() and TRAIN in mapping.values()
    assert len(assign_splits(["only"], 0.1)) == 1
    assert EVAL not in assign_splits(ids(5), 0.0).values()


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_invalid_fraction(fraction):
    with pytest.raises(ValueError):
        assign_splits(ids(3), fraction)


def test_invalid_stored_side():
    with pytest.raises(ValueError, match="'train' or 'eval'"):
        assign_splits(ids(3), 0.1, assignments={"conv-0": "test"})


def test_derived_id_groups_turns_of_one_conversation():
    turn1 = [
        {"role": "user", "content": "My order is late"},
        {"role": "assistant", "content": "Sorry!"},
    ]
    turn2 = [
        *turn1,
        {"role": "user", "content": "Any news?"},
        {"role": "assistant", "content": "It ships today."},
    ]
    other = [
        {"role": "user", "content": "Cancel my order"},
        {"role": "assistant", "content": "Done."},
    ]
    with_system = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "my order is  LATE"},
        {"role": "assistant", "content": "x"},
    ]
    assert derive_conversation_id(turn1) == derive_conversation_id(turn2)
    assert derive_conversation_id(turn1) == derive_conversation_id(with_system)
    assert derive_conversation_id(turn1) != derive_conversation_id(other)
    assert derive_conversation_id(turn1).startswith("content:")
