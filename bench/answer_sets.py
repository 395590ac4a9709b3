"""The evaluation sets of the answer-quality benchmark (`python -m bench answers`).

Each set pairs the sources to index with its cases: a conversation ending with the
customer's question, the human agent's reply (or reference answer), whether the knowledge
base can answer it at all, and what grounds it when known.

- multidoc2dial: indexes `multidoc2dial/passages.jsonl`; one case per agent reply in the
  dialogues, unanswerable where the question's document is not in the corpus.
- dstc11: indexes `dstc11_track5/knowledge.jsonl`; a hash sample (default 120) of the 1,049
  knowledge-seeking turns.
- faq: indexes the syncthing and restic manual pages together, one index; the FAQ pairs
  (the FAQ pages are not among the pages).
- korvo: indexes the shipped `corpora/` (manuals, then tickets); `corpora/eval/questions.jsonl`.
- off_domain: the same index as korvo; `bench/off_domain_questions.jsonl`, all to be declined.

Every case has a fixed split, "dev" or "test", from a hash of its dialogue, so that all
turns of a dialogue share it: dstc11 by `conv_key`; faq and off_domain by the case itself;
multidoc2dial by the dialogue's `group` (which ties a doc2dial dialogue to its multidoc2dial
re-edit), ranked by hash and alternated so that each half gets half the dialogues. korvo, the
project's own set, is all "test".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.retrieval_data import (
    DEFAULT_DATA,
    Corpus,
    _messages,
    dstc11_corpus,
    multidoc2dial_corpus,
    read_jsonl,
    require,
)

__all__ = [
    "DEFAULT_DATA",
    "DSTC11_LIMIT",
    "SET_NAMES",
    "AnswerCase",
    "AnswerSet",
    "load_sets",
]

PROJECT = Path(__file__).resolve().parents[1]
CORPORA = PROJECT / "corpora"
OFF_DOMAIN_QUESTIONS = Path(__file__).resolve().parent / "off_domain_questions.jsonl"
SET_NAMES = ("multidoc2dial", "dstc11", "faq", "korvo", "off_domain")
DSTC11_LIMIT = 120  # knowledge-seeking turns sampled when no limit is given
FAQ_MANUALS = ("syncthing", "restic")
MIN_REFERENCE_WORDS = 5  # FAQ answers with fewer words of prose are only cross-references
RST_DIRECTIVE = re.compile(r"^\.\. .*(?:\n[ \t]+.*)*", re.MULTILINE)
SPLIT_SALT = "deskloop-answers-split"
SAMPLE_SALT = "deskloop-answers-sample"


@dataclass(frozen=True)
class AnswerCase:
    set_name: str
    case_id: str  # stable across runs and data reloads
    messages: list[dict[str, str]]  # the conversation so far, ending with the user's question
    reference: str | None  # the human agent's reply; None where unanswerable
    answerable: bool
    gold_ids: frozenset[str]  # passage/snippet ids, ticket ids or source file names; may be empty
    split: str  # "dev" or "test"


@dataclass(frozen=True)
class AnswerSet:
    """A set's cases and the sources its index is built from.

    Exactly one of `corpus` or `documents` is given. `corpus` is a record file, ingested with
    its id/text/title fields as bench/retrieval.py does; `documents` are folders of files
    ingested as the app does (`KnowledgeBase.ingest(documents)`), and `tickets` folders of
    ticket exports ingested after them with `tickets=True`. Sets with the same `index` use
    the same sources and can share one built index (korvo and off_domain do).
    """

    name: str
    index: str
    cases: list[AnswerCase]
    corpus: Corpus | None = None
    documents: tuple[Path, ...] = ()
    tickets: tuple[Path, ...] = ()


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def split_of(key: str) -> str:
    """'dev' or 'test', fixed by a hash of `key` (a dialogue id)."""
    return "dev" if _hash(SPLIT_SALT, key) % 2 == 0 else "test"


def sample(cases: Sequence[AnswerCase], limit: int | None) -> list[AnswerCase]:
    """At most `limit` cases, chosen by a hash of their ids, in their original order."""
    if limit is None or limit >= len(cases):
        return list(cases)
    order = sorted(range(len(cases)), key=lambda i: _hash(SAMPLE_SALT, cases[i].case_id))
    chosen = set(order[:limit])
    return [case for i, case in enumerate(cases) if i in chosen]


def _balanced_splits(cases: list[AnswerCase]) -> list[AnswerCase]:
    """Turn each case's dialogue key (in `split`) into its split, half the dialogues each.

    A plain hash per dialogue would leave 24 dialogues lopsided, so the dialogues are ranked
    by hash within two strata, those with an unanswerable case and those without, and
    alternate dev, test down each ranking.
    """
    unanswerable = {case.split for case in cases if not case.answerable}
    keys = sorted({case.split for case in cases}, key=lambda key: _hash(SPLIT_SALT, key))
    splits = {}
    for stratum in (
        [key for key in keys if key in unanswerable],
        [key for key in keys if key not in unanswerable],
    ):
        for rank, key in enumerate(stratum):
            splits[key] = "dev" if rank % 2 == 0 else "test"
    return [replace(case, split=splits[case.split]) for case in cases]


def _require_folder(data: Path, relative: str) -> None:
    if not (data / relative).is_dir():
        require(data, relative)  # not a file either: raises its SystemExit


def _dedupe(cases: Iterable[AnswerCase]) -> list[AnswerCase]:
    """Drop cases repeating an earlier one's conversation and reference."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for case in cases:
        key = (tuple((m["role"], m["content"]) for m in case.messages), case.reference)
        if key not in seen:
            seen.add(key)
            kept.append(case)
    return kept


def multidoc2dial_cases(data: Path) -> list[AnswerCase]:
    """One case per run of agent turns: the conversation before it is the prompt.

    The data flags no user turn `unanswerable`; a question whose document is not in the
    corpus (`in_corpus` false on the user or agent turns) or that the agent answered with
    `respond_no_solution` becomes an unanswerable case. Consecutive agent turns are one
    reply; a dialogue's trailing user turns, with no reply, are no case.
    """
    cases = []
    for dialogue in read_jsonl(data / "multidoc2dial" / "dialogues_public.jsonl"):
        turns = dialogue["turns"]
        position = 0
        while position < len(turns):
            if turns[position]["role"] != "agent" or position == 0:
                position += 1
                continue
            end = position
            while end < len(turns) and turns[end]["role"] == "agent":
                end += 1
            replies = turns[position:end]
            asked = position
            while asked > 0 and turns[asked - 1]["role"] == "user":
                asked -= 1
            question = turns[asked:position]
            answerable = all(
                turn.get("in_corpus", True) and not turn.get("unanswerable", False)
                for turn in question + replies
            ) and all(turn.get("da") != "respond_no_solution" for turn in replies)
            reference = " ".join(turn["utterance"].strip() for turn in replies)
            cases.append(
                AnswerCase(
                    set_name="multidoc2dial",
                    case_id=f"mdd-{dialogue['dial_id']}-{replies[0]['turn_id']}",
                    messages=_messages(turns[:position], "utterance", "role"),
                    reference=reference if answerable else None,
                    answerable=answerable,
                    gold_ids=frozenset(
                        turn["silver_pid"] for turn in replies if turn.get("silver_pid")
                    )
                    if answerable
                    else frozenset(),
                    split=dialogue.get("group") or dialogue["dial_id"],  # the key, for now
                )
            )
            position = end
    return _balanced_splits(_dedupe(cases))


def dstc11_cases(data: Path) -> list[AnswerCase]:
    return [
        AnswerCase(
            set_name="dstc11",
            case_id=row["id"],
            messages=_messages(row["context"], "text", "speaker"),
            reference=row["response"],
            answerable=True,
            gold_ids=frozenset(row["gold_kids"]),
            split=split_of(row["conv_key"]),
        )
        for row in read_jsonl(data / "dstc11_track5" / "public.jsonl")
        if row.get("target") and row.get("response")
    ]


def faq_cases(data: Path) -> list[AnswerCase]:
    """The FAQ pairs of both manuals; gold_ids empty (the FAQ pages are not indexed)."""
    cases = []
    for manual in FAQ_MANUALS:
        for row in read_jsonl(data / "manuals" / manual / "faq_public.jsonl"):
            if len(RST_DIRECTIVE.sub("", row["answer"]).split()) < MIN_REFERENCE_WORDS:
                continue  # syncthing-faq-018, whose answer is only a `.. seealso::` link
            cases.append(
                AnswerCase(
                    set_name="faq",
                    case_id=row["id"],
                    messages=[{"role": "user", "content": row["question"]}],
                    reference=row["answer"],
                    answerable=True,
                    gold_ids=frozenset(),
                    split=split_of(row["id"]),
                )
            )
    return cases


def korvo_cases(questions: Path) -> list[AnswerCase]:
    return [
        AnswerCase(
            set_name="korvo",
            case_id=f"korvo-{line:03d}",
            messages=[{"role": "user", "content": row["question"]}],
            # an unanswerable question's model decline is dropped, as in every set
            reference=row["reference"] if row["answerable"] else None,
            answerable=bool(row["answerable"]),
            gold_ids=frozenset(row.get("gold_sources") or ()),
            split="test",
        )
        for line, row in enumerate(read_jsonl(questions))
    ]


def off_domain_cases(questions: Path) -> list[AnswerCase]:
    cases = []
    for line, row in enumerate(read_jsonl(questions)):
        case_id = f"off-domain-{line:03d}"
        cases.append(
            AnswerCase(
                set_name="off_domain",
                case_id=case_id,
                messages=[{"role": "user", "content": row["question"]}],
                reference=None,
                answerable=False,
                gold_ids=frozenset(),
                split=split_of(row["question"]),
            )
        )
    return cases


def _require_project_file(path: Path) -> None:
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; it ships with the project")


def _korvo_set(name: str, cases: list[AnswerCase]) -> AnswerSet:
    """A set put to the shipped sample knowledge base, indexed as the app does on first run."""
    return AnswerSet(
        name,
        "korvo",
        cases,
        documents=(CORPORA / "manuals",),
        tickets=(CORPORA / "tickets",),
    )


def load_sets(
    data: Path = DEFAULT_DATA, names: Sequence[str] | None = None, limit: int | None = None
) -> list[AnswerSet]:
    """The named sets (all by default), in SET_NAMES order.

    `limit` caps every set at that many cases, sampled by a hash of the case ids; without
    it dstc11 is sampled to DSTC11_LIMIT and the other sets are whole.
    """
    wanted = list(SET_NAMES) if names is None else list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in SET_NAMES]
    if unknown:
        raise SystemExit(
            f"error: unknown answer set {', '.join(unknown)}; choose from {', '.join(SET_NAMES)}"
        )
    sets = []
    for name in SET_NAMES:
        if name not in wanted:
            continue
        if name == "multidoc2dial":
            require(data, "multidoc2dial/passages.jsonl", "multidoc2dial/dialogues_public.jsonl")
            cases = sample(multidoc2dial_cases(data), limit)
            sets.append(AnswerSet(name, "multidoc2dial", cases, corpus=multidoc2dial_corpus(data)))
        elif name == "dstc11":
            require(data, "dstc11_track5/knowledge.jsonl", "dstc11_track5/public.jsonl")
            cases = sample(dstc11_cases(data), DSTC11_LIMIT if limit is None else limit)
            sets.append(AnswerSet(name, "dstc11_track5", cases, corpus=dstc11_corpus(data)))
        elif name == "faq":
            require(data, *(f"manuals/{manual}/faq_public.jsonl" for manual in FAQ_MANUALS))
            for manual in FAQ_MANUALS:
                _require_folder(data, f"manuals/{manual}/pages")
            folders = tuple(data / "manuals" / manual / "pages" for manual in FAQ_MANUALS)
            cases = sample(faq_cases(data), limit)
            sets.append(AnswerSet(name, "manuals", cases, documents=folders))
        elif name == "korvo":
            questions = CORPORA / "eval" / "questions.jsonl"
            _require_project_file(questions)
            sets.append(_korvo_set(name, sample(korvo_cases(questions), limit)))
        else:
            _require_project_file(OFF_DOMAIN_QUESTIONS)
            cases = sample(off_domain_cases(OFF_DOMAIN_QUESTIONS), limit)
            sets.append(_korvo_set(name, cases))
    return sets
