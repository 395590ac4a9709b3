"""Evaluate the base model or an adapter: batched greedy answers scored against references.

Prompts are built exactly as serving builds them (tuning.prompts -> assistant.prompt), and
the model is loaded as serving loads it, so the numbers describe what agents would see.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import DeskloopError
from assistant.hf_model import load_causal_lm, load_tokenizer, pick_device, pick_dtype
from assistant.model_prep import BaseModelRef
from assistant.prompt import DECLINE_ANSWER, TokenizerCounter
from assistant.settings import Settings
from tuning.events import Progress, ignore
from tuning.metrics import declines, mean, rouge_l, token_f1
from tuning.prompts import serving_messages

BATCH_SIZE = 8
# messages (ending with the user's question) -> sources as dicts {n, title, text, ...};
# an empty list means nothing relevant was found, and the answer is serving's decline.
Retrieve = Callable[[list[dict]], list[dict]]


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
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
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


class EvalModel:
    """The base model loaded as serving loads it, with named adapters switchable per call."""

    def __init__(self, model, tokenizer, device: str):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.adapters: set[str] = set()

    @classmethod
    def load(cls, settings: Settings, base: BaseModelRef) -> EvalModel:
        import torch

        if settings.threads:
            torch.set_num_threads(settings.threads)
        device = pick_device(settings.device)
        tokenizer = load_tokenizer(base.location)
        model = load_causal_lm(
            base.location, device, pick_dtype(settings.dtype, device), settings.load_in_4bit
        )
        return cls(model, tokenizer, device)

    def add_adapter(self, name: str, path: Path) -> None:
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(path), adapter_name=name)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
        self.model.eval()
        self.adapters.add(name)

    @contextmanager
    def using(self, adapter: str | None) -> Iterator[None]:
        """Generate with ``adapter``, or with the bare base model when None."""
        if adapter is None:
            with self.model.disable_adapter() if self.adapters else nullcontext():
                yield
            return
        if adapter not in self.adapters:
            raise KeyError(adapter)
        self.model.set_adapter(adapter)
        yield

    def generate(
        self,
        prompts: Sequence[list[dict]],
        settings: Settings,
        max_new_tokens: int,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[int], None] = lambda done: None,
    ) -> list[str]:
        """Greedy answers, in batches of similar length, left-padded."""
        import torch

        tok = self.tokenizer
        tok.padding_side = "left"
        texts = [
            tok.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts
        ]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        answers: list[str] = [""] * len(texts)
        options = settings.generation
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            inputs = tok(
                [texts[i] for i in batch],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.model.device)
            extra = (
                {"no_repeat_ngram_size": options.no_repeat_ngram_size}
                if options.no_repeat_ngram_size
                else {}
            )
            with torch.inference_mode():
                output = self.model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    repetition_penalty=options.repetition_penalty,
                    pad_token_id=tok.pad_token_id,
                    eos_token_id=tok.eos_token_id,
                    **extra,
                )
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            for i, ids in zip(batch, new_tokens, strict=True):
                answers[i] = tok.decode(ids, skip_special_tokens=True).strip()
            on_batch(min(start + batch_size, len(order)))
        return answers


@dataclass
class EvalReport:
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]

    def to_dict(self, with_rows: bool = False) -> dict[str, Any]:
        return {"metrics": self.metrics, **({"rows": self.rows} if with_rows else {})}


def evaluate_examples(
    model: EvalModel,
    adapter: str | None,
    examples: Sequence[EvalExample],
    settings: Settings,
    retrieve: Retrieve | None = None,
    max_new_tokens: int | None = None,
    progress: Progress = ignore,
    label: str = "",
) -> EvalReport:
    """Answer every example with ``adapter`` (None: the base) and score the answers."""
    counter = TokenizerCounter(model.tokenizer)
    sources = [_sources_for(e, retrieve) for e in examples]
    to_generate = [i for i, s in enumerate(sources) if s is not None or retrieve is None]
    prompts = [
        serving_messages(examples[i].prompt, sources[i], counter, settings) for i in to_generate
    ]
    total = len(examples)
    progress({"event": "eval_start", "model": label, "examples": len(prompts)})

    def on_batch(done: int) -> None:
        progress({"event": "eval_progress", "model": label, "done": done, "total": len(prompts)})

    with model.using(adapter):
        generated = model.generate(
            prompts,
            settings,
            max_new_tokens or settings.generation.max_new_tokens,
            on_batch=on_batch,
        )
    answers = [DECLINE_ANSWER] * total  # serving declines when retrieval finds nothing
    for i, answer in zip(to_generate, generated, strict=True):
        answers[i] = answer
    report = score(examples, answers, sources)
    progress({"event": "eval_end", "model": label, **report.metrics})
    return report


def _sources_for(example: EvalExample, retrieve: Retrieve | None) -> list[dict] | None:
    if example.sources is not None or retrieve is None:
        return example.sources
    return retrieve(example.prompt) or None


def score(
    examples: Sequence[EvalExample],
    answers: Sequence[str],
    sources: Sequence[list[dict] | None] | None = None,
) -> EvalReport:
    rouge, f1, gold_hits = [], [], []
    declined_unanswerable, declined_answerable = [], []
    rows = []
    for i, (example, answer) in enumerate(zip(examples, answers, strict=True)):
        declined = declines(answer)
        row: dict[str, Any] = {
            "question": example.prompt[-1]["content"],
            "answer": answer,
            "declined": declined,
            "expects_answer": example.expects_answer,
        }
        if example.expects_answer:
            declined_answerable.append(declined)
            if example.reference is not None:
                row["rouge_l"] = rouge_l(answer, example.reference)
                row["token_f1"] = token_f1(answer, example.reference)
                rouge.append(row["rouge_l"])
                f1.append(row["token_f1"])
        else:
            declined_unanswerable.append(declined)
        found = (sources[i] if sources else None) or []
        if example.gold_ids and found:
            ids = {str(s.get(key)) for s in found for key in ("record_id", "chunk_id", "source")}
            gold_hits.append(any(g in ids for g in example.gold_ids))
        rows.append(row)
    metrics = {
        "examples": len(examples),
        "rouge_l": mean(rouge),
        "token_f1": mean(f1),
        "scored": len(rouge),
        "unanswerable": len(declined_unanswerable),
        "decline_rate_unanswerable": mean([float(d) for d in declined_unanswerable]),
        "declined_answerable_rate": mean([float(d) for d in declined_answerable]),
        "gold_source_hit_rate": mean([float(h) for h in gold_hits]),
    }
    return EvalReport(metrics, rows)


def evaluate_file(
    settings: Settings,
    path: str | Path,
    adapter: str = "active",
    retrieve: Retrieve | None = None,
    max_new_tokens: int | None = None,
    limit: int | None = None,
    progress: Progress = ignore,
) -> dict[str, Any]:
    """``deskloop eval``: metrics of the base, the active or a given adapter on a JSONL file."""
    from assistant.model_prep import prepare_base_model
    from tuning.registry import AdapterRegistry

    examples = read_eval_file(path)[:limit]
    registry = AdapterRegistry(settings.paths.adapters)
    version = registry.active() if adapter == "active" else None
    if adapter not in ("active", "base"):
        version = registry.path_of(adapter).name
    base = prepare_base_model(settings, lambda text: progress({"event": "status", "text": text}))
    model = EvalModel.load(settings, base)
    if version is not None:
        model.add_adapter(version, registry.path_of(version))
    report = evaluate_examples(
        model, version, examples, settings, retrieve, max_new_tokens, progress, version or "base"
    )
    return {
        "file": str(path),
        "adapter": version or "base",
        "base_model": base.model_id,
        "retrieval": retrieve is not None,
        **report.to_dict(with_rows=True),
    }
