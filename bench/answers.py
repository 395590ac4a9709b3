"""Answer-quality benchmark: what an agent would read, on public help-desk sets.

    python -m bench answers [--data DIR] [--sets multidoc2dial,dstc11,faq,korvo,off_domain]
        [--split dev|test|all] [--limit N] [--variants today,extractive,quote,model]
        [--max-new-tokens N] [--cache DIR] [--fresh] [--rows FILE]

Every case is answered by each variant in turn (interleaved, one process, the same retrieval):
- today: the answer path before evidence selection (the model writes from the whole sources,
  no citation check, declines only when no source is similar enough);
- extractive: no model; the source sentences most similar to the question, up to the
  answer word budget, each with its source's marker;
- quote: deskloop's default: evidence spans (chosen by an adapter when one is in service),
  answerability check, citations checked by code;
- quote-embeddings: the same with the choice always left to the embeddings;
- model: the same evidence and checks, the model writing from the evidence only.
Methods and thresholds were chosen on the dev half of the public sets; report on --split test
(the default). Korvo (the project's own set) is all test. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.answering.citations import with_markers
from assistant.answering.evidence import query_vector
from assistant.answering.grounder import Grounder, knowledge_base_grounder
from assistant.answering.text import split_units
from assistant.engine import ChatEngine
from assistant.grounding import KnowledgeBaseRetriever
from assistant.prompt import DECLINE_ANSWER
from assistant.settings import Settings, load_settings
from assistant.store import SourceRef, Store
from bench.answer_sets import SET_NAMES, AnswerCase, AnswerSet, load_sets
from bench.machine import describe as describe_machine
from bench.retrieval import DEFAULT_CACHE, open_index
from bench.retrieval_data import DEFAULT_DATA
from tuning.answer_quality import score_answer, summarise

VARIANTS = ("today", "extractive", "quote", "quote-embeddings", "model")
COMPOSE = {"today": "free", "quote": "quote", "quote-embeddings": "quote", "model": "model"}
ENGINE_VARIANTS = ("today", "quote", "quote-embeddings", "model")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench answers", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--sets", default=",".join(SET_NAMES), help="comma-separated set names")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per set")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=", ".join(VARIANTS))
    parser.add_argument(
        "--max-new-tokens", type=int, default=None, help="cap per answer (default: the setting)"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE / "answers")
    parser.add_argument("--fresh", action="store_true", help="rebuild the indexes")
    parser.add_argument("--rows", type=Path, default=None, help="write every answer here (JSONL)")
    return parser.parse_args(list(argv))


class SharedRetrieval:
    """One retrieval per conversation, handed to every variant (each gets its own copies)."""

    def __init__(self, retriever: KnowledgeBaseRetriever):
        self.retriever = retriever
        self.found: dict[str, list[SourceRef]] = {}

    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        key = json.dumps([messages, k])
        if key not in self.found:
            self.found[key] = self.retriever.retrieve(messages, k)
        return copy.deepcopy(self.found[key])


def open_set_index(answer_set: AnswerSet, cache: Path, fresh: bool):
    from retrieval import IndexSettings, KnowledgeBase

    if answer_set.corpus is not None:
        return open_index(answer_set.corpus, cache, fresh)[0]
    directory = cache / answer_set.index
    if fresh and directory.exists():
        import shutil

        shutil.rmtree(directory)
    kb = KnowledgeBase(IndexSettings(directory=directory))
    for folder in answer_set.documents:
        kb.ingest([folder])
    for folder in answer_set.tickets:
        kb.ingest([folder], tickets=True)
    return kb


def extractive_answer(
    messages: list[dict], sources: list[SourceRef], grounder: Grounder, max_words: int
) -> str:
    """The baseline with no model: the source sentences closest to the question."""
    if not sources:
        return DECLINE_ANSWER
    units = [(s.n, u.text) for s in sources for u in split_units(s.text)]
    query = query_vector(grounder.embed, [(messages[-1]["content"], 1.0)])
    ranked = sorted(
        zip(grounder.embed([text for _, text in units]) @ query, units, strict=True),
        key=lambda pair: -pair[0],
    )
    picked, words = [], 0
    for _, (n, text) in ranked:
        if picked and words + len(text.split()) > max_words:
            break
        picked.append(with_markers(text, [n]))
        words += len(text.split())
    return " ".join(picked)


def variant_settings(base: Settings, variant: str, max_new_tokens: int | None) -> Settings:
    settings = base.model_copy(deep=True)
    settings.answers.compose = COMPOSE.get(variant, "quote")
    if variant == "quote-embeddings":
        settings.answers.model_choices = 1
    if max_new_tokens:
        settings.generation.max_new_tokens = max_new_tokens
    return settings


def answer_case(
    variant: str, engines: dict[str, ChatEngine], case: AnswerCase, grounder: Grounder
) -> dict[str, Any]:
    started = time.perf_counter()
    history, question = case.messages[:-1], case.messages[-1]["content"]
    if variant == "extractive":
        engine = engines["quote"]
        found = [s for s in engine.retrieve(case.messages) if engine.is_relevant(s)]
        for number, source in enumerate(found, start=1):
            source.n = number
        words = engine.settings.answers.max_words
        answer, sources = extractive_answer(case.messages, found, grounder, words), found
    else:
        stream = engines[variant].ask(question, history=history)
        stream.text()
        answer, sources = stream.result.answer, stream.result.sources
    row = score_answer(answer, {s.n: s.text for s in sources}, case.reference, case.answerable)
    row["seconds"] = round(time.perf_counter() - started, 3)
    return {"variant": variant, "case": case.case_id, "answer": answer, **row}


def run(argv: Sequence[str]) -> dict[str, Any]:
    from assistant.app import quiet_libraries
    from assistant.backends import open_backend
    from assistant.model_prep import prepare_base_model

    args = parse_args(argv)
    quiet_libraries()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"error: unknown variant {unknown[0]}; choose from {', '.join(VARIANTS)}")
    sets = load_sets(args.data, [n for n in args.sets.split(",") if n], args.limit)
    settings = load_settings()
    base = prepare_base_model(settings, log)
    model = open_backend(settings, base)
    model.prepare(None)
    results: dict[str, Any] = {}
    rows_out = args.rows.open("w", encoding="utf-8") if args.rows else None
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(Path(scratch) / "answers.db")
        for answer_set in sets:
            cases = [c for c in answer_set.cases if args.split in ("all", c.split)]
            if not cases:
                continue
            log(f"[{answer_set.name}] indexing")
            kb = open_set_index(answer_set, args.cache, args.fresh)
            retrieval = SharedRetrieval(KnowledgeBaseRetriever(kb))
            grounder = knowledge_base_grounder(kb, settings.answers)
            engines = {
                v: ChatEngine(
                    model,
                    store,
                    variant_settings(settings, v, args.max_new_tokens),
                    retrieval,
                    grounder=None if v == "today" else grounder,
                )
                for v in ENGINE_VARIANTS
            }
            rows: dict[str, list[dict]] = {v: [] for v in variants}
            for number, case in enumerate(cases, start=1):
                for variant in variants:
                    row = answer_case(variant, engines, case, grounder)
                    rows[variant].append(row)
                    if rows_out:
                        rows_out.write(json.dumps({"set": answer_set.name, **row}) + "\n")
                if number % 10 == 0 or number == len(cases):
                    log(f"[{answer_set.name}] {number}/{len(cases)} cases")
            results[answer_set.name] = {v: summarise(rows[v]) for v in variants}
    if rows_out:
        rows_out.close()
    return {
        "benchmark": "answers",
        "command": "python -m bench answers " + " ".join(argv),
        "split": args.split,
        "machine": describe_machine(),
        "model": base.model_id,
        "settings": settings.answers.model_dump(),
        "max_new_tokens": args.max_new_tokens or settings.generation.max_new_tokens,
        "results": results,
    }


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0
