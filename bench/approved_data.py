"""Question pairs for the approved-answers benchmark: paraphrases and look-alikes.

A paraphrase pair asks the same thing (one answer serves both); a look-alike pair is worded
alike but needs a different answer. Every text is PII-scrubbed first, as the matcher sees it.

Bitext (public.jsonl): one intent, one answer. For each question, its paraphrase is the
closest other question of the same intent, its look-alike the closest of another intent
(MiniLM cosine). The split is by category: dev and test share no intent.

Shipped tickets (corpora/tickets/tickets.csv, corpora/eval/questions.jsonl): paraphrases are
a ticket's subject and message, an evaluation question and the ticket(s) it names, and two
tickets that one evaluation question names together (the same known issue). Look-alikes are
each message and the closest other ticket's message, unless the two are named together or
their resolutions are close (cosine >= RESOLUTION_SAME: the same answer in other words), and
each message with an error code swapped for another code of the same family. Tickets of one
evaluation question stay in one split.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TICKETS = ROOT / "corpora" / "tickets" / "tickets.csv"
DEFAULT_EVAL = ROOT / "corpora" / "eval" / "questions.jsonl"
DEFAULT_BITEXT = ROOT.parent / "shared" / "data" / "bitext" / "public.jsonl"
ERROR_CODES_PAGE = ROOT / "corpora" / "manuals" / "error-codes-reference.txt"
RESOLUTION_SAME = 0.6
ERROR_CODE = re.compile(r"\bE-(\d)(\d\d)\b")

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Pair:
    source: str  # "bitext" or "tickets"
    kind: str  # "paraphrase" or "lookalike"
    how: str  # how the pair was made
    split: str  # "dev" or "test"
    first: str
    second: str


def read_bitext(path: Path) -> list[dict]:
    if not path.is_file():
        raise SystemExit(f"error: no Bitext file at {path}: pass --bitext FILE")
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def category_split(categories: Sequence[str]) -> dict[str, str]:
    """Every other category (sorted) to dev, the rest to test."""
    return {c: ("dev" if i % 2 == 0 else "test") for i, c in enumerate(sorted(set(categories)))}


def bitext_pairs(rows: list[dict], embed: Embed, scrub: Callable[[str], str]) -> list[Pair]:
    split_of = category_split([r["category"] for r in rows])
    pairs: list[Pair] = []
    for split in ("dev", "test"):
        part = [r for r in rows if split_of[r["category"]] == split]
        texts = [scrub(r["instruction"].strip()) for r in part]
        vectors = embed(texts)
        similarity = vectors @ vectors.T
        intents = np.array([r["intent"] for r in part])
        same = intents[:, None] == intents[None, :]
        normalized = np.array([" ".join(t.lower().split()) for t in texts])
        duplicate = normalized[:, None] == normalized[None, :]
        seen: set[tuple[str, str, str]] = set()
        for kind, allowed in (("paraphrase", same & ~duplicate), ("lookalike", ~same)):
            closest = np.where(allowed, similarity, -2.0).argmax(axis=1)
            for i, j in enumerate(closest):
                if not allowed[i, j]:
                    continue
                key = (kind, *sorted((texts[i], texts[j])))
                if key not in seen:
                    seen.add(key)
                    pairs.append(Pair("bitext", kind, "closest", split, texts[i], texts[j]))
    return pairs


def bitext_random_paraphrases(
    rows: list[dict], scrub: Callable[[str], str], split: str, seed: int = 0
) -> list[Pair]:
    """Two random questions of one intent: how far recall falls off the closest wording."""
    split_of = category_split([r["category"] for r in rows])
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if split_of[row["category"]] == split:
            by_intent[row["intent"]].append(scrub(row["instruction"].strip()))
    rng = random.Random(seed)
    pairs = []
    for intent in sorted(by_intent):
        texts = by_intent[intent]
        for text in texts:
            other = rng.choice(texts)
            if other != text:
                pairs.append(Pair("bitext", "paraphrase", "random", split, text, other))
    return pairs


def read_tickets(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as lines:
        return list(csv.DictReader(lines))


def read_eval_groups(path: Path) -> list[tuple[str, list[str]]]:
    """(question, ticket ids) for each evaluation question answered by tickets."""
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [(r["question"], r["gold_sources"]) for r in rows if r["kind"] == "ticket"]


def ticket_pairs(
    tickets: list[dict],
    groups: list[tuple[str, list[str]]],
    embed: Embed,
    scrub: Callable[[str], str],
) -> list[Pair]:
    by_id = {t["ticket_id"]: t for t in tickets}
    split_of = {t["ticket_id"]: ("dev" if i % 2 == 0 else "test") for i, t in enumerate(tickets)}
    together: set[frozenset[str]] = set()
    for number, (_, ids) in enumerate(groups):
        for ticket_id in ids:
            split_of[ticket_id] = "dev" if number % 2 == 0 else "test"
        together.update(frozenset(p) for p in combinations(ids, 2))
    message = {t["ticket_id"]: scrub(t["customer_message"].strip()) for t in tickets}
    pairs = [
        Pair("tickets", "paraphrase", "subject", split_of[i], scrub(t["subject"]), message[i])
        for i, t in by_id.items()
    ]
    for question, ids in groups:
        for ticket_id in ids:
            pairs.append(
                Pair(
                    "tickets",
                    "paraphrase",
                    "eval question",
                    split_of[ticket_id],
                    scrub(question),
                    message[ticket_id],
                )
            )
        for a, b in combinations(ids, 2):
            pairs.append(
                Pair("tickets", "paraphrase", "same issue", split_of[a], message[a], message[b])
            )
    pairs += _closest_ticket_lookalikes(tickets, message, split_of, together, embed)
    pairs += [
        Pair("tickets", "lookalike", "error code swapped", split_of[i], message[i], swapped)
        for i in by_id
        if (swapped := swap_error_code(message[i])) is not None
    ]
    return pairs


def _closest_ticket_lookalikes(
    tickets: list[dict],
    message: dict[str, str],
    split_of: dict[str, str],
    together: set[frozenset[str]],
    embed: Embed,
) -> list[Pair]:
    pairs = []
    for split in ("dev", "test"):
        ids = [t["ticket_id"] for t in tickets if split_of[t["ticket_id"]] == split]
        vectors = embed([message[i] for i in ids])
        answers = embed(
            [next(t["resolution"] for t in tickets if t["ticket_id"] == i) for i in ids]
        )
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -2.0)
        seen: set[frozenset[str]] = set()
        for a, b in enumerate(similarity.argmax(axis=1)):
            key = frozenset((ids[a], ids[b]))
            same_answer = float(answers[a] @ answers[b]) >= RESOLUTION_SAME
            if key in seen or key in together or same_answer:
                continue
            seen.add(key)
            pairs.append(
                Pair(
                    "tickets",
                    "lookalike",
                    "closest ticket",
                    split,
                    message[ids[a]],
                    message[ids[b]],
                )
            )
    return pairs


def swap_error_code(text: str) -> str | None:
    """The text with its first error code changed to the next code of its family (E-2xx)."""
    found = ERROR_CODE.search(text)
    if found is None:
        return None
    family = [code for code in known_codes() if code[2] == found.group(1)]
    current = found.group()
    if current not in family:
        return None
    replacement = family[(family.index(current) + 1) % len(family)]
    return text.replace(current, replacement)


@cache
def known_codes() -> list[str]:
    return sorted({m.group() for m in ERROR_CODE.finditer(ERROR_CODES_PAGE.read_text())})
