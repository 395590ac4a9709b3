"""Retrieval benchmark on the public data in ../shared/data (see its README).

    python -m bench retrieval [--data DIR] [--cache DIR] [--fresh] [--limit N]
        [--split dev|test|all] [--embedding-precision auto|float32|bfloat16]

Builds one index per corpus through the public KnowledgeBase API into the cache folder
(reused while the data and the chunking settings are unchanged; --fresh rebuilds), then
queries it with `build_query` over each conversation. Prints one JSON document.

Which cases are scored: every set is cut into two fixed halves by a hash of each case's
messages (`bench.retrieval_data.split_of`), "dev" and "test". The query builder's settings
(`retrieval/query.py` turn weights and pool, the fusion weights, the named-title list's
weight in `retrieval/search.py`) were tuned on ALL the cases of these sets, both halves,
before the split existed (BENCHMARKS.md, "What was tried"): the figures published so far,
and any figure on either half for those settings, are optimistic by an unknown amount. From
now on tune on `--split dev` only and report `--split test` (the default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.machine import describe as describe_machine
from bench.retrieval_baseline import PlainBM25, last_user_turn, whole_dialogue
from bench.retrieval_data import (
    DEFAULT_DATA,
    SPLITS,
    Case,
    Corpus,
    document_cases,
    dstc11_corpus,
    entity_key,
    in_split,
    multidoc2dial_corpus,
    passage_cases,
    require,
    snippet_cases,
)
from bench.retrieval_metrics import percentile_ms, summarise
from retrieval import IndexSettings, KnowledgeBase, build_query
from retrieval.embeddings import PRECISIONS, Precision, shared_embedder

DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"
DEPTH = 20  # ranks scored: recall@20 is the deepest cutoff
SEARCH_K = 2 * DEPTH  # chunks asked for, so that DEPTH distinct records remain
README_BM25 = {
    "multidoc2dial_passages": {"recall@1": 0.33, "recall@5": 0.52, "recall@20": 0.71},
    "multidoc2dial_documents": {"recall@1": 0.38, "recall@5": 0.57, "recall@20": 0.66},
    "dstc11_snippets": {"recall@1": 0.08, "recall@5": 0.20, "recall@20": 0.45},
    "dstc11_entities": {"recall@1": 0.59, "recall@5": 0.84},
}

Labeller = Callable[[str], str]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench retrieval", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where indexes live")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached indexes")
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per set")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="the fixed half of each set to score: dev (tune on it), test (report it), or all",
    )
    parser.add_argument(
        "--sample", type=int, default=300, help="records in the fresh-ingest throughput run"
    )
    parser.add_argument(
        "--embedding-precision",
        choices=PRECISIONS,
        default="auto",
        help="Embedder precision (auto: bf16 autocast on a CPU with AMX/AVX512_BF16); the cached "
        "indexes do not record it, so give each precision its own --cache",
    )
    return parser.parse_args(list(argv))


def open_index(
    corpus: Corpus, cache: Path, fresh: bool, precision: Precision = "auto"
) -> tuple[KnowledgeBase, dict]:
    """The corpus's cached index, brought up to date by an (incremental) ingest."""
    directory = cache / corpus.name
    if fresh:
        shutil.rmtree(directory, ignore_errors=True)
    kb = KnowledgeBase(IndexSettings(directory=directory), shared_embedder(None, "cpu", precision))
    for source in kb.sources():  # an index left from another --data folder
        if Path(source.source) != corpus.path.resolve():
            kb.remove(source.source)
    started = time.perf_counter()
    report = kb.ingest(
        [corpus.path],
        id_field=corpus.id_field,
        text_field=corpus.text_field,
        title_field=corpus.title_field,
        progress=_ingest_progress(corpus.name),
    )
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"error: ingesting {corpus.path} failed: {report.failed[0].reason}")
    record = directory / "build.json"
    if report.chunks_added:
        build = {
            "chunks": report.chunks_added,
            "seconds": round(seconds, 1),
            "chunks_per_s": round(report.chunks_added / seconds, 1),
            "built": dt.datetime.now().isoformat(timespec="seconds"),
        }
        record.write_text(json.dumps(build), encoding="utf-8")
    else:
        build = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    return kb, {**build, "cached": not report.chunks_added}


def _ingest_progress(name: str):
    last = [0.0]

    def progress(event) -> None:
        now = time.monotonic()
        if event.stage == "embed" and (now - last[0] > 10 or event.done == event.total):
            last[0] = now
            log(f"[{name}] embedded {event.done}/{event.total} chunks")

    return progress


def rank_cases(
    kb: KnowledgeBase, cases: Sequence[Case], latencies: list[float], name: str
) -> list[list[str]]:
    """The record ids kb.search ranks for each case's conversation."""
    rankings = []
    for number, case in enumerate(cases, start=1):
        query = build_query(case.messages)
        started = time.perf_counter()
        hits = kb.search(query, k=SEARCH_K)
        latencies.append(time.perf_counter() - started)
        rankings.append([hit.record_id for hit in hits])
        if number % 200 == 0:
            log(f"[{name}] {number}/{len(cases)} queries")
    return rankings


def score(
    rankings: Sequence[Sequence[str]], cases: Sequence[Case], label: Labeller, mrr: bool = False
) -> dict[str, float]:
    labelled = [[label(record_id) for record_id in ranking] for ranking in rankings]
    return summarise(labelled, [case.gold for case in cases], mrr=mrr)


def baselines(
    plain: PlainBM25, cases: Sequence[Case], label: Labeller, mrr: bool
) -> dict[str, dict[str, float]]:
    """Plain BM25 in this run: on the last user turn (the README's), and on the whole dialogue."""
    return {
        name: score(
            [plain.rank(query(case.messages), SEARCH_K) for case in cases], cases, label, mrr
        )
        for name, query in (("bm25_last_turn", last_user_turn), ("bm25_dialogue", whole_dialogue))
    }


def ingest_sample(corpus: Corpus, size: int, precision: Precision = "auto") -> dict[str, Any]:
    """A fresh ingest of the corpus's first ``size`` records into a throwaway index."""
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.jsonl"
        rows = list(corpus.records.values())[:size]
        sample.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        kb = KnowledgeBase(
            IndexSettings(directory=Path(folder) / "index"),
            shared_embedder(None, "cpu", precision),
        )
        started = time.perf_counter()
        report = kb.ingest(
            [sample],
            id_field=corpus.id_field,
            text_field=corpus.text_field,
            title_field=corpus.title_field,
        )
        seconds = time.perf_counter() - started
    return {
        "records": len(rows),
        "chunks": report.chunks_added,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(report.chunks_added / seconds, 1),
    }


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    data = args.data.expanduser().resolve()
    require(
        data,
        "multidoc2dial/passages.jsonl",
        "multidoc2dial/queries_public.jsonl",
        "multidoc2dial/dialogues_public.jsonl",
        "dstc11_track5/knowledge.jsonl",
        "dstc11_track5/public.jsonl",
    )
    args.cache.mkdir(parents=True, exist_ok=True)

    def chosen(cases: list) -> list:
        """The cases of the chosen half (pairs by their first case), then --limit."""
        kept = [c for c in cases if in_split(c[0] if isinstance(c, tuple) else c, args.split)]
        return kept[: args.limit]

    result: dict[str, Any] = {
        "benchmark": "retrieval",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python -m bench retrieval " + " ".join(argv),
        "split": args.split,
        "machine": describe_machine(),
        "settings": IndexSettings(directory=args.cache).__dict__ | {"directory": str(args.cache)},
        "embedding_bf16_autocast": shared_embedder(
            None, "cpu", args.embedding_precision
        ).uses_bf16_autocast,
    }
    latencies: list[float] = []
    ingest: dict[str, Any] = {}

    mdd = multidoc2dial_corpus(data)
    kb, ingest[mdd.name] = open_index(mdd, args.cache, args.fresh, args.embedding_precision)
    plain = PlainBM25(mdd)
    doc_title = {pid: str(row["doc_title"]) for pid, row in mdd.records.items()}
    for key, cases, label, mrr in (
        ("multidoc2dial_passages", chosen(passage_cases(data)), str, True),
        ("multidoc2dial_documents", chosen(document_cases(data)), doc_title.__getitem__, False),
    ):
        log(f"[{key}] {len(cases)} cases")
        rankings = rank_cases(kb, cases, latencies, key)
        result[key] = {
            "cases": len(cases),
            "deskloop": score(rankings, cases, label, mrr),
            **baselines(plain, cases, label, mrr),
            "bm25_readme": README_BM25[key],
        }

    dstc = dstc11_corpus(data)
    kb, ingest[dstc.name] = open_index(dstc, args.cache, args.fresh, args.embedding_precision)
    plain = PlainBM25(dstc)
    entity = {kid: entity_key(row) for kid, row in dstc.records.items()}
    pairs = chosen(snippet_cases(data))
    log(f"[dstc11] {len(pairs)} cases")
    snippets = [snippet for snippet, _ in pairs]
    entities = [entity_case for _, entity_case in pairs]
    rankings = rank_cases(kb, snippets, latencies, "dstc11")
    for key, cases, label in (
        ("dstc11_snippets", snippets, str),
        ("dstc11_entities", entities, entity.__getitem__),
    ):
        result[key] = {
            "cases": len(cases),
            "deskloop": score(rankings, cases, label),
            **baselines(plain, cases, label, False),
            "bm25_readme": README_BM25[key],
        }

    log(f"[ingest] fresh ingest of {args.sample} multidoc2dial passages")
    ingest["sample_multidoc2dial"] = ingest_sample(mdd, args.sample, args.embedding_precision)
    result["ingest"] = ingest
    result["query_latency_ms"] = {
        "queries": len(latencies),
        "p50": percentile_ms(latencies, 50),
        "p95": percentile_ms(latencies, 95),
    }
    return result


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
