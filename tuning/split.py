"""Leakage-safe, round-to-round stable train/eval split by conversation.

A conversation's side comes from a persisted assignment when it has one, otherwise from
a hash of its id: ``bucket(id) < eval_fraction`` means eval. The hash keeps the split
stable for as long as the fraction and salt stay the same; the persisted mapping keeps
it stable even when they change, so a conversation the model was trained on never moves
to eval and an eval conversation is never trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from tuning.dedup import normalize

TRAIN = "train"
EVAL = "eval"


def bucket(conversation_id: str, salt: str = "") -> float:
    """A uniform, deterministic number in [0, 1) for a conversation id."""
    digest = hashlib.sha256(f"{salt}\x1f{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(
    conversation_ids: Iterable[str],
    eval_fraction: float,
    assignments: Mapping[str, str] | None = None,
    salt: str = "",
) -> dict[str, str]:
    """Return the updated mapping conversation id -> "train" | "eval".

    Every earlier entry is kept, also for conversations absent this time. When one side
    would be empty and there are at least two conversations, the new conversation with
    the lowest (highest) bucket goes to eval (train), so a small first round has both.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError("eval_fraction must be in [0, 1)")
    updated = dict(assignments or {})
    bad = {side for side in updated.values() if side not in (TRAIN, EVAL)}
    if bad:
        raise ValueError(f"split assignments may only be 'train' or 'eval', got {sorted(bad)}")
    new_ids = sorted(
        {cid for cid in conversation_ids if cid not in updated},
        key=lambda cid: (bucket(cid, salt), cid),
    )
    for cid in new_ids:
        updated[cid] = EVAL if bucket(cid, salt) < eval_fraction else TRAIN
    # With few conversations the hash can leave one side empty; fix that with a new one.
    if eval_fraction > 0 and new_ids and len(updated) >= 2:
        if EVAL not in updated.values():
            updated[new_ids[0]] = EVAL
        elif TRAIN not in updated.values():
            updated[new_ids[-1]] = TRAIN
    return updated


def derive_conversation_id(messages: Sequence[Mapping[str, str]]) -> str:
    """An id for a row without one, from its first user message.

    Rows of the same conversation share that message, so they land on the same side.
    """
    first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
    return "content:" + hashlib.sha256(normalize(first_user).encode()).hexdigest()[:16]
