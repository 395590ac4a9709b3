"""Is everything the server acknowledged in the store, exactly once, and nothing half-written?

Read straight from the database (SQLite file or PostgreSQL), not through the server:

- lost: an acknowledged question or answer turn that is missing, or differs in role,
  conversation or text; an acknowledged flag with no feedback row, or another rating;
- duplicated: a conversation holding a question more often than it was acknowledged, or
  a turn flagged in more rows than one;
- half-written: a conversation whose turns are not question, answer, question, answer...;
- unacknowledged: exchanges and flags in the store the agents were never told about (a
  request cut off by a kill may have been committed first; anywhere else it is a problem).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import bindparam, text

from bench.serve_agents import Answer, Flag

TURNS = text(
    "SELECT id, conversation_id, role, content, actor FROM turns WHERE actor IN :actors ORDER BY id"
).bindparams(bindparam("actors", expanding=True))
FEEDBACK = text(
    "SELECT turn_id, rating, correction, actor FROM feedback WHERE actor IN :actors"
).bindparams(bindparam("actors", expanding=True))
SHOWN = 10  # problems listed per kind; the counts are complete


def read_rows(database_url: str, actors: Iterable[str]) -> tuple[list[dict], list[dict]]:
    """The turns and feedback rows of these users."""
    from assistant.store import Store

    names = sorted(set(actors)) or [""]
    store = Store(database_url)
    try:
        with store.engine.connect() as db:
            turns = [dict(row) for row in db.execute(TURNS, {"actors": names}).mappings()]
            feedback = [dict(row) for row in db.execute(FEEDBACK, {"actors": names}).mappings()]
    finally:
        store.close()
    return turns, feedback


def check_store(
    database_url: str,
    answers: list[Answer],
    flags: list[Flag],
    actors: Iterable[str],
    unacknowledged_allowed: bool = False,
) -> dict:
    turns, feedback = read_rows(database_url, actors)
    return check_rows(turns, feedback, answers, flags, unacknowledged_allowed)


def check_rows(
    turns: list[dict],
    feedback: list[dict],
    answers: list[Answer],
    flags: list[Flag],
    unacknowledged_allowed: bool = False,
) -> dict:
    problems: dict[str, list[str]] = {
        "lost": [],
        "duplicated": [],
        "half_written": [],
        "unacknowledged": [],
    }
    by_id = {row["id"]: row for row in turns}
    for answer in answers:
        problems["lost"] += _missing_exchange(by_id, answer)

    asked = Counter((a.conversation_id, a.question.strip()) for a in answers)
    stored = Counter(
        (row["conversation_id"], row["content"].strip()) for row in turns if row["role"] == "user"
    )
    for key, count in stored.items():
        if count > asked.get(key, 0) and asked.get(key, 0) > 0:
            problems["duplicated"].append(
                f"conversation {key[0]} holds {key[1][:40]!r} {count} times, acknowledged "
                f"{asked[key]}"
            )
    acknowledged_ids = {a.question_turn_id for a in answers}
    extra = [
        row
        for row in turns
        if row["role"] == "user"
        and row["id"] not in acknowledged_ids
        and asked.get((row["conversation_id"], row["content"].strip()), 0) == 0
    ]
    problems["unacknowledged"] += [
        f"turn {row['id']} by {row['actor']} in {row['conversation_id']} was never acknowledged"
        for row in extra
    ]
    problems["half_written"] += _half_written(turns)

    rows_of = Counter(row["turn_id"] for row in feedback)
    flag_row = {row["turn_id"]: row for row in feedback}
    for flag in flags:
        count = rows_of.get(flag.turn_id, 0)
        row = flag_row.get(flag.turn_id)
        if count == 0:
            problems["lost"].append(f"flag of turn {flag.turn_id} by {flag.agent} is missing")
        elif count > 1:
            problems["duplicated"].append(f"turn {flag.turn_id} has {count} feedback rows")
        elif (row["rating"], row["correction"], row["actor"]) != (
            flag.rating,
            (flag.correction or "").strip() or None,
            flag.agent,
        ):
            problems["lost"].append(f"flag of turn {flag.turn_id} reads {row['rating']!r}")
    flagged = {flag.turn_id for flag in flags}
    problems["unacknowledged"] += [
        f"feedback on turn {turn_id} was never acknowledged"
        for turn_id in rows_of
        if turn_id not in flagged
    ]

    counts = {kind: len(found) for kind, found in problems.items()}
    failing = [kind for kind in problems if counts[kind]]
    if unacknowledged_allowed and "unacknowledged" in failing:
        failing.remove("unacknowledged")
    return {
        "turns_checked": 2 * len(answers),
        "flags_checked": len(flags),
        "counts": counts,
        "ok": not failing,
        "problems": {kind: found[:SHOWN] for kind, found in problems.items() if found},
    }


def _missing_exchange(by_id: dict, answer: Answer) -> list[str]:
    found = []
    for turn_id, role, content in (
        (answer.question_turn_id, "user", answer.question),
        (answer.turn_id, "assistant", answer.answer),
    ):
        row = by_id.get(turn_id)
        if row is None:
            found.append(f"{role} turn {turn_id} of {answer.agent} is missing")
        elif (row["role"], row["conversation_id"], row["content"].strip()) != (
            role,
            answer.conversation_id,
            content.strip(),
        ):
            found.append(f"{role} turn {turn_id} of {answer.agent} differs from what was sent")
    return found


def _half_written(turns: list[dict]) -> list[str]:
    roles: dict[str, list[str]] = {}
    for row in turns:  # ordered by id
        roles.setdefault(row["conversation_id"], []).append(row["role"])
    return [
        f"conversation {conversation}: turns {sequence}"
        for conversation, sequence in roles.items()
        if sequence != ["user", "assistant"] * (len(sequence) // 2) or len(sequence) % 2
    ]
