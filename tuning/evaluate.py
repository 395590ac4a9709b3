"""Evaluate the base model or an adapter: eval rows answered as agents get answers, scored.

The answers come from tuning.eval_answers (a ChatEngine over the served model form) and are
scored by tuning.answer_quality: ROUGE-L and token F1 against the reference, support by the
sources, valid citations, and declining exactly the questions the sources cannot answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import DeskloopError
from assistant.settings import Settings
from tuning.answer_quality import score_answer, summarise
from tuning.events import Progress, ignore
from tuning.metrics import declines, mean

if TYPE_CHECKING:
    from assistant.engine import AnswerResult
    from tuning.eval_answers import EvalAnswerer


@dataclass
class EvalExample:
    prompt: list[dict]  # the conversation, ending with the user's question
    reference: str | None = None
    answerable: bool | None = None  # None: inferred from the reference
    sources: list[dict] | None = None  # None: not known (retrieve them if possible)
    gold_ids: list[str] = field(default_factory=list)

    @property
    def expects_answer(self) -> bool:
        if self.answerable is not None:
            return self.answerable
        return self.reference is None or not declines(self.reference)


def example_from_record(record: Mapping[str, Any], where: str = "row") -> EvalExample:
    """A ``deskloop eval`` row or a dataset eval record -> EvalExample; ValueError if invalid."""
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected a JSON object")
    if isinstance(record.get("question"), str) and record["question"].strip():
        prompt = [{"role": "user", "content": record["question"]}]
    elif isinstance(record.get("messages"), list) and record["messages"]:
        prompt = [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        if prompt[-1]["role"] == "assistant":
            prompt = prompt[:-1]  # a full conversation: score the question before its answer
        if not prompt or prompt[-1]["role"] != "user":
            raise ValueError(f"{where}: 'messages' must end with the user's question")
    else:
        raise ValueError(f"{where}: needs a 'question' string or a 'messages' list")
    reference = record.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError(f"{where}: 'reference' must be a string")
    answerable = record.get("answerable")
    if answerable is not None and not isinstance(answerable, bool):
        raise ValueError(f"{where}: 'answerable' must be true or false")
    sources = record.get("sources")
    gold = record.get("gold_ids", record.get("gold_sources")) or []
    return EvalExample(
        prompt=prompt,
        reference=reference or None,
        answerable=answerable,
        sources=list(sources) if sources else None,
        gold_ids=[str(g) for g in gold],
    )


def read_eval_file(path: str | Path) -> list[EvalExample]:
    path = Path(path)
    if not path.is_file():
        raise DeskloopError(f"no file {path}: give a JSONL file of eval rows")
    examples = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DeskloopError(f"{path} is not UTF-8 text: give a JSONL file saved as UTF-8") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(example_from_record(json.loads(line), f"{path.name} line {lineno}"))
        except (ValueError, KeyError, TypeError) as exc:
            raise DeskloopError(
                f"{exc}: each row needs 'question' (or 'messages') and 'reference'"
            ) from None
    if not examples:
        raise DeskloopError(f"{path} has no eval rows")
    return examples


@dataclass
class EvalReport:
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]

    def to_dict(self, with_rows: bool = False) -> dict[str, Any]:
        return {"metrics": self.metrics, **({"rows": self.rows} if with_rows else {})}


def scored_row(example: EvalExample, result: AnswerResult, seconds: float) -> dict[str, Any]:
    """One answer with its scores (tuning.answer_quality) and what it was answered from."""
    texts = {s.n: s.text for s in result.sources}
    row: dict[str, Any] = {
        "question": example.prompt[-1]["content"],
        "answer": result.answer,
        "status": result.status,
        "expects_answer": example.expects_answer,
        **score_answer(result.answer, texts, example.reference, example.expects_answer),
        "seconds": round(seconds, 3),
        "sources": [s.source for s in result.sources],
    }
    if example.gold_ids and result.sources:
        found = {
            str(name)
            for s in result.sources
            for name in (s.record_id, s.chunk_id, s.source, Path(s.source).name)
        }
        row["gold_source_hit"] = any(g in found for g in example.gold_ids)
    return row


def metrics_of(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    summary = summarise(rows)
    summary.pop("cases")
    return {
        "examples": len(rows),
        "scored": sum(r.get("rouge_l") is not None for r in rows),
        "unanswerable": sum(not r["answerable"] for r in rows),
        **summary,
        # the names these had before support and citations were measured (bench, scripts)
        "decline_rate_unanswerable": summary["declined_unanswerable"],
        "declined_answerable_rate": summary["declined_answerable"],
        "gold_source_hit_rate": mean(
            [float(r["gold_source_hit"]) for r in rows if "gold_source_hit" in r]
        ),
    }


def evaluate_examples(
    answerer: EvalAnswerer,
    examples: Sequence[EvalExample],
    progress: Progress = ignore,
    label: str = "",
) -> EvalReport:
    """Answer every example with the adapter the answerer uses now, and score the answers."""
    total = len(examples)
    progress({"event": "eval_start", "model": label, "examples": total})
    rows = []
    for done, example in enumerate(examples, start=1):
        started = time.perf_counter()
        result = answerer.answer(example)
        rows.append(scored_row(example, result, time.perf_counter() - started))
        progress({"event": "eval_progress", "model": label, "done": done, "total": total})
    report = EvalReport(metrics_of(rows), rows)
    progress({"event": "eval_end", "model": label, **report.metrics})
    return report


def evaluate_file(
    settings: Settings,
    path: str | Path,
    adapter: str = "active",
    retrieve: bool = True,
    max_new_tokens: int | None = None,
    limit: int | None = None,
    progress: Progress = ignore,
) -> dict[str, Any]:
    """``deskloop eval``: metrics of the base, the active or a given adapter on a JSONL file."""
    from assistant.model_prep import prepare_base_model
    from tuning.eval_answers import eval_settings, open_answerer
    from tuning.registry import AdapterRegistry

    examples = read_eval_file(path)[:limit]
    registry = AdapterRegistry.for_settings(settings)
    version = registry.active() if adapter == "active" else None
    if adapter not in ("active", "base"):
        version = registry.path_of(adapter).name
    base = prepare_base_model(settings, lambda text: progress({"event": "status", "text": text}))
    answerer = open_answerer(eval_settings(settings, max_new_tokens), base, retrieve)
    try:
        answerer.use(version, registry.path_of(version) if version else None)
        report = evaluate_examples(answerer, examples, progress, version or "base")
        form = answerer.served_form
    finally:
        answerer.close()
    return {
        "file": str(path),
        "adapter": version or "base",
        "base_model": base.model_id,
        "retrieval": answerer.retriever is not None,
        "served_form": form,
        **report.to_dict(with_rows=True),
    }
