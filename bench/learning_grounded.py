"""Grounded learning loop: do agents' corrections make the quoted answers better? (issue 11, 7)

    python -m bench learning --grounded [--set multidoc2dial] [--rounds 3] [--corrections 15]
        [--heldout 40] [--good-f1 0.5] [--max-steps 6] [--batch-size 2] [--threads 1] ...

One process, one fresh data directory (DESKLOOP_HOME) whose knowledge base is the set's
index (copied from the `bench answers` cache) and whose store, approved answers, adapter
registry and training rounds are deskloop's own. Round 0 scores the base model on the
held-out cases. Each round then:

1. simulated agents ask the set's dev questions (answerable ones, in a seeded order, going
   on where the last round stopped) through the engine with the real store, each
   conversation replayed into the store as a chat; an answer whose token F1 against the
   human agent's reply reaches --good-f1 is flagged good, any other is flagged bad with that
   reply as the correction (`Store.flag`, so it also becomes an approved answer when it
   answers a first question), until --corrections corrections are given;
2. one training round (`tuning.round.run_round`, without the Korvo ticket seeds) on every
   flag so far; the gate's decision is reported, and a candidate it does not promote is
   promoted with force, so the trained adapter is always the one scored next;
3. the held-out cases (the set's test split, a hash sample of --heldout) are answered through
   the engine with that adapter, scored as `bench answers` scores them, and every held-out
   first question is put to the approved answers (hit rate, and precision of what is served).

Nothing is cached between runs: the base is scored in the same run. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.answer_sets import DEFAULT_DATA, AnswerCase, load_sets, sample
from bench.answers import DEFAULT_CACHE, SharedRetrieval, answer_case, open_set_index
from bench.learning import DEFAULT_MODELS, fresh_home, paired
from bench.learning_data import write_jsonl
from bench.machine import describe as describe_machine

GROUNDED_SETS = ("multidoc2dial", "dstc11")
TRAINING_KEYS = ("global_step", "examples", "train_tokens", "wall_s", "first_loss", "last_loss")


def log(message: str) -> None:
    print(f"[bench learning --grounded] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench learning --grounded", description=__doc__)
    p.add_argument("--set", choices=GROUNDED_SETS, default="multidoc2dial", dest="set_name")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE / "answers", help="index cache")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--corrections", type=int, default=15, help="corrections per round")
    p.add_argument("--heldout", type=int, default=40, help="held-out cases scored per round")
    p.add_argument("--good-f1", type=float, default=0.5, help="token F1 an agent calls good")
    p.add_argument("--seed", type=int, default=0, help="order the agents ask in")
    p.add_argument("--max-steps", type=int, default=6, help="optimizer steps per round")
    p.add_argument("--batch-size", type=int, default=2, help="rows per step (no accumulation)")
    p.add_argument("--learning-rate", type=float, default=None, help="default: the setting")
    p.add_argument("--round-eval-limit", type=int, default=None, help="cap the round's eval")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="prepared models dir")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--home", type=Path, default=None, help="keep the data directory here")
    return p.parse_args(list(argv))


class Cases:
    """The set's cases as the loop uses them: what agents ask, and what is held out."""

    def __init__(self, cases: Sequence[AnswerCase], heldout: int, seed: int):
        asked = [c for c in cases if c.split == "dev" and c.answerable]
        random.Random(seed).shuffle(asked)
        self.train: Iterator[AnswerCase] = iter(asked)
        self.train_count = len(asked)
        test = [c for c in cases if c.split == "test"]
        self.heldout = sample(test, heldout)
        self.first_questions = [c for c in test if len(c.messages) == 1]


def replay(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """(turns to record before the question, the question): user turns after the last reply
    are one message with it, as `feedback import` stores consecutive user turns."""
    last_reply = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
    recorded = messages[: last_reply + 1]
    question = "\n\n".join(m["content"] for m in messages[last_reply + 1 :])
    return recorded, question


def agent_turn(engine, case: AnswerCase, good_f1: float) -> dict[str, Any]:
    """An agent asks the case's question in a chat and flags the answer."""
    from tuning.answer_quality import score_answer
    from tuning.feedback_rows import _record

    recorded, question = replay(case.messages)
    conversation_id = None
    if recorded:
        conversation_id = engine.store.create_conversation(recorded[0]["content"]).id
        _record(engine.store, conversation_id, recorded, ())
    stream = engine.ask(question, conversation_id)
    stream.text()
    result = stream.result
    sources = {s.n: s.text for s in result.sources}
    f1 = score_answer(result.answer, sources, case.reference, True)["token_f1"]
    good = f1 >= good_f1
    if good:
        engine.store.flag(result.turn_id, "good")
    else:
        engine.store.flag(result.turn_id, "bad", "incorrect", case.reference)
    return {"case": case.case_id, "token_f1": f1, "good": good, "status": result.status}


def agents_round(engine, cases: Cases, corrections: int, good_f1: float) -> dict[str, Any]:
    from tuning.metrics import mean

    turns = []
    while sum(not t["good"] for t in turns) < corrections:
        case = next(cases.train, None)
        if case is None:
            log("the dev questions ran out")
            break
        turns.append(agent_turn(engine, case, good_f1))
    return {
        "asked": len(turns),
        "corrected": sum(not t["good"] for t in turns),
        "good": sum(t["good"] for t in turns),
        "served_approved": sum(t["status"] == "approved" for t in turns),
        "token_f1": mean([t["token_f1"] for t in turns]),
    }


def approved_hits(engine, cases: Sequence[AnswerCase], good_f1: float) -> dict[str, Any]:
    """Held-out first questions put to the approved answers through the engine's lookup; a
    served answer is right when its token F1 against the case's reply reaches ``good_f1``."""
    from tuning.metrics import token_f1

    served = []
    for case in cases:
        match = engine.approved_answer(case.messages[-1]["content"], [])
        if match is None:
            continue
        f1 = token_f1(match.answer, case.reference) if case.reference else 0.0
        served.append(
            {
                "case": case.case_id,
                "question": case.messages[-1]["content"],
                "approved_question": match.question,
                "similarity": round(match.similarity, 4),
                "token_f1": round(f1, 4),
                "right": f1 >= good_f1,
            }
        )
    right = sum(s["right"] for s in served)
    return {
        "first_questions": len(cases),
        "served": len(served),
        "hit_rate": round(len(served) / len(cases), 4) if cases else None,
        "precision": round(right / len(served), 4) if served else None,
        "served_cases": served,
    }


def score_heldout(engine, grounder, cases: Cases, good_f1: float) -> dict[str, Any]:
    from tuning.answer_quality import summarise

    adapter = engine.prepare()
    started = time.perf_counter()
    rows = []
    for number, case in enumerate(cases.heldout, start=1):
        rows.append(answer_case("quote", {"quote": engine}, case, grounder))
        if number % 10 == 0:
            log(f"held-out {number}/{len(cases.heldout)}")
    return {
        "adapter": adapter.version if adapter else "base",
        "metrics": summarise(rows),
        "approved": approved_hits(engine, cases.first_questions, good_f1),
        "wall_s": round(time.perf_counter() - started, 1),
        "rows": rows,
    }


def training_round(settings, args: argparse.Namespace) -> dict[str, Any]:
    """One round through the project's round code; promoted with force when the gate says no."""
    from tuning.registry import AdapterRegistry
    from tuning.round import run_round

    def progress(event: dict[str, Any]) -> None:
        if event.get("event") == "stage":
            log(f"round: {event['stage']}")

    summary = run_round(
        settings,
        max_steps=args.max_steps,
        seeds_path=None,
        eval_limit=args.round_eval_limit,
        progress=progress,
    )
    version = summary["version"]
    if not summary["promoted"]:
        AdapterRegistry.for_settings(settings).promote(version, force=True)
    return {
        "version": version,
        "gate": {k: summary["decision"][k] for k in ("promote", "reason", "eval_rows")},
        "forced": not summary["promoted"],
        "dataset": summary["dataset"]["sizes"],
        "training": {k: summary["training"].get(k) for k in TRAINING_KEYS},
    }


def grounded_settings(home: Path, args: argparse.Namespace):
    """The settings of data directory ``home``, with the command's training overrides."""
    from assistant.settings import load_settings

    os.environ["DESKLOOP_HOME"] = str(home)
    settings = load_settings()
    settings.threads = args.threads or settings.threads
    settings.training.batch_size, settings.training.grad_accum = args.batch_size, 1
    if args.learning_rate is not None:
        settings.training.learning_rate = args.learning_rate
    return settings


def open_engines(settings, args: argparse.Namespace, answer_set):
    """The agents' engine over the data directory's store, and one for the held-out cases;
    both serve the registry's active adapter from the set's index (copied into the data
    directory, where the round's evaluation finds it)."""
    from assistant.answering.grounder import knowledge_base_grounder
    from assistant.app import (
        open_approved_lookup,
        open_knowledge_base,
        open_store,
        quiet_libraries,
    )
    from assistant.backends import open_backend
    from assistant.engine import ChatEngine
    from assistant.grounding import KnowledgeBaseRetriever
    from assistant.model_prep import prepare_base_model
    from assistant.store import Store
    from tuning.registry import AdapterRegistry

    quiet_libraries()
    open_set_index(answer_set, args.cache, False)  # builds it in the cache when missing
    shutil.copytree(args.cache / answer_set.index, settings.paths.index)
    kb = open_knowledge_base(settings)
    base = prepare_base_model(settings, log)
    model = open_backend(settings, base)
    store = open_store(settings)
    parts = (
        settings,
        SharedRetrieval(KnowledgeBaseRetriever(kb)),
        AdapterRegistry.for_settings(settings).active_choice,
        knowledge_base_grounder(kb, settings.answers),
        open_approved_lookup(settings, store),
    )
    # held-out answers are recorded apart: they are never flagged, never trained on
    return ChatEngine(model, store, *parts), ChatEngine(model, Store(Path(":memory:")), *parts)


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    answer_set = load_sets(args.data, [args.set_name])[0]
    cases = Cases(answer_set.cases, args.heldout, args.seed)
    home = fresh_home(args.home, args.models)
    settings = grounded_settings(home, args)
    engine, heldout_engine = open_engines(settings, args, answer_set)
    log(f"{len(cases.heldout)} held-out cases, {cases.train_count} dev questions, data dir {home}")
    (home / "bench").mkdir()
    base = score_heldout(heldout_engine, engine.grounder, cases, args.good_f1)
    write_jsonl(home / "bench" / "heldout-0.jsonl", base["rows"])
    rounds = [{"round": 0, "heldout": summary_of(base, base)}]
    for number in range(1, args.rounds + 1):
        round_started = time.perf_counter()
        log(f"round {number}: agents")
        agents = agents_round(engine, cases, args.corrections, args.good_f1)
        log(f"round {number}: {agents['corrected']} corrections, {agents['good']} good")
        trained = training_round(settings, args)
        scored = score_heldout(heldout_engine, engine.grounder, cases, args.good_f1)
        write_jsonl(home / "bench" / f"heldout-{number}.jsonl", scored["rows"])
        f1 = scored["metrics"]["token_f1"]
        log(f"round {number}: {trained['version']} held-out token F1 {f1}")
        rounds.append(
            {
                "round": number,
                "agents": agents,
                **trained,
                "heldout": summary_of(scored, base),
                "wall_s": round(time.perf_counter() - round_started, 1),
            }
        )
    f1s = [r["heldout"]["metrics"]["token_f1"] for r in rounds]
    return {
        "benchmark": "learning --grounded",
        "command": "python -m bench learning --grounded " + " ".join(argv),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "set": args.set_name,
        "settings": {
            "answers": settings.answers.model_dump(),
            "approved_min_similarity": settings.approved_min_similarity,
            "training": settings.training.model_dump(exclude={"pii_phone_regions"}),
            "max_steps": args.max_steps,
            "seeds": None,
        },
        "data": {
            "heldout_cases": len(cases.heldout),
            "heldout_first_questions": len(cases.first_questions),
            "dev_questions": cases.train_count,
            "corrections_per_round": args.corrections,
            "good_f1": args.good_f1,
        },
        "rounds": rounds,
        "heldout_token_f1": f1s,
        "token_f1_rises_each_round": all(b > a for a, b in itertools.pairwise(f1s)),
        "total_wall_s": round(time.perf_counter() - started, 1),
        "home": str(home),
    }


def summary_of(scored: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    return {
        "adapter": scored["adapter"],
        "metrics": scored["metrics"],
        "approved": scored["approved"],
        "vs_base": paired(base["rows"], scored["rows"], "token_f1"),
        "wall_s": scored["wall_s"],
    }


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
