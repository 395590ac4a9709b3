"""The pieces bench/chat_path runs: the data home, the question set, the variants, the timing."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "corpora" / "eval" / "questions.jsonl"

WARM_UP = "Which colours can the Hub LED show?"

Log = Callable[[str], None]


def prepare_home(home: Path, log: Log):
    """Settings for `home`, with the model prepared and the shipped corpora indexed."""
    from assistant.app import open_knowledge_base, quiet_libraries
    from assistant.model_prep import prepare_base_model
    from assistant.settings import load_settings

    quiet_libraries()
    settings = load_settings(home=home)
    prepare_base_model(settings, log)
    knowledge_base = open_knowledge_base(settings)
    if knowledge_base.is_empty():
        log(f"indexing the shipped corpora into {home}")
        knowledge_base.ingest([ROOT / "corpora" / "manuals"])
        knowledge_base.ingest([ROOT / "corpora" / "tickets"], tickets=True, id_field="ticket_id")
    return settings


def read_questions(count: int) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows if row.get("answerable", True)][:count]


@dataclass
class AdapterSpec:
    version: str
    path: Path


def make_random_adapter(settings, folder: Path, seed: int = 7) -> Path:
    """A LoRA adapter (r=16, all linear layers) with small random non-zero weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from assistant.model_prep import prepare_base_model

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(prepare_base_model(settings).location)
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.01)  # the size of a trained adapter's update, not a scrambler
    target = folder / "adapter"
    model.save_pretrained(target)
    return target


def serving_of(form: str) -> dict:
    """The settings a variant's form name stands for: 'openvino-int8' is serving "openvino"
    at precision "int8"; any other name is a serving value."""
    if form.startswith("openvino-"):
        return {"serving": "openvino", "precision": form.removeprefix("openvino-")}
    return {"serving": form}


@dataclass
class Variant:
    """One way of answering: a chat engine (baseline or deskloop) or llama.cpp."""

    name: str
    serving_form: str
    answer: Callable[[str], Iterator[str]]
    count_text: Callable[[str], int]
    engine: object = None
    export_s: float | None = None  # the OpenVINO export, when this run made it

    @classmethod
    def open(cls, name: str, settings, form: str, scratch: Path, log: Log = print) -> Variant:
        from assistant.app import open_knowledge_base
        from assistant.backends import open_backend
        from assistant.engine import ChatEngine
        from assistant.grounding import KnowledgeBaseRetriever
        from assistant.model_prep import prepare_base_model
        from assistant.store import Store

        settings = settings.model_copy(update=serving_of(form))
        base = prepare_base_model(settings)
        export_s = None
        if settings.serving == "openvino":
            from assistant.backends.openvino_export import MARKER, cache_folder, exported_model

            if not (cache_folder(settings, base, settings.precision) / MARKER).is_file():
                started = time.perf_counter()
                exported_model(settings, base, settings.precision, log)
                export_s = round(time.perf_counter() - started, 1)
        model = open_backend(settings, base, log)
        retriever = KnowledgeBaseRetriever(open_knowledge_base(settings))
        engine = ChatEngine(model, Store(scratch / f"{name}.db"), settings, retriever)
        engine.prepare()

        def answer(question: str) -> Iterator[str]:
            return iter(engine.ask(question))

        form = model.describe(None)
        return cls(name, form, answer, engine.counter.count_text, engine, export_s)

    @classmethod
    def open_llama_cpp(cls, settings) -> Variant | str:
        """llama.cpp on the shipped GGUF with the same prompts, or why it is not measured."""
        import importlib.util

        if importlib.util.find_spec("llama_cpp") is None:
            return "not measured: llama-cpp-python is not installed"
        from llama_cpp import Llama

        from assistant.model_prep import embedded_gguf

        llm = Llama(
            model_path=str(embedded_gguf()),
            n_ctx=settings.prompt.context_tokens + settings.generation.max_new_tokens + 64,
            n_threads=settings.threads,
            verbose=False,
        )
        prompt_engine = Variant.open("llama-prompts", settings, "plain", Path("/tmp")).engine
        options = settings.generation

        def answer(question: str) -> Iterator[str]:
            sources = [
                s
                for s in prompt_engine.retrieve([{"role": "user", "content": question}])
                if prompt_engine.is_relevant(s)
            ]
            messages = prompt_engine.build_messages(question, [], sources)
            for part in llm.create_chat_completion(
                messages,
                stream=True,
                temperature=0.0,
                repeat_penalty=options.repetition_penalty,
                max_tokens=options.max_new_tokens,
            ):
                yield part["choices"][0]["delta"].get("content", "")

        def count_text(text: str) -> int:
            return len(llm.tokenize(text.encode(), add_bos=False))

        return cls("llama.cpp", "gguf Q4_1", answer, count_text)

    def use_adapter(self, adapter: AdapterSpec) -> float | None:
        """Serve ``adapter`` from now on; the seconds until the backend served it."""
        if self.engine is None:
            return None  # llama.cpp: the adapter figures repeat the base ones
        self.engine.adapter_choice = lambda: (adapter.version, adapter.path)
        started = time.perf_counter()
        self.engine.prepare()
        return round(time.perf_counter() - started, 3)


@dataclass
class Timed:
    text: str
    first_token_s: float
    total_s: float
    tokens: int

    @property
    def decode_tokens_per_s(self) -> float | None:
        decode_s = self.total_s - self.first_token_s
        return (self.tokens - 1) / decode_s if self.tokens > 1 and decode_s > 0 else None


def timed(variant: Variant, question: str) -> Timed:
    started = time.perf_counter()
    first = None
    parts = []
    for chunk in variant.answer(question):
        if first is None and chunk:
            first = time.perf_counter()
        parts.append(chunk)
    finished = time.perf_counter()
    raw = "".join(parts)  # counted unstripped: whitespace-only tokens took decode time too
    first = first or finished
    return Timed(raw.strip(), first - started, finished - started, variant.count_text(raw))


def compare(variants: list[Variant], questions: list[str], log: Log) -> dict:
    """Each question through every variant, the order alternating question by question."""
    for variant in variants:  # the first answer of a process pays one-off costs
        timed(variant, WARM_UP)
    runs: dict[str, list[Timed]] = {v.name: [] for v in variants}
    for i, question in enumerate(questions):
        order = variants if i % 2 == 0 else list(reversed(variants))
        for variant in order:
            result = timed(variant, question)
            runs[variant.name].append(result)
            log(
                f"q{i + 1} {variant.name}: first token {result.first_token_s:.2f}s, "
                f"{result.tokens} tokens in {result.total_s:.2f}s"
            )
    return {
        name: {"summary": summarise(r), "answers": [t.text for t in r]} for name, r in runs.items()
    }


def summarise(results: list[Timed]) -> dict:
    first = [r.first_token_s for r in results]
    rates = [r.decode_tokens_per_s for r in results if r.decode_tokens_per_s]
    tokens = sum(r.tokens - 1 for r in results if r.tokens > 1)
    decode_s = sum(r.total_s - r.first_token_s for r in results if r.tokens > 1)
    return {
        "first_token_s_p50": round(percentile(first, 50), 3),
        "first_token_s_p95": round(percentile(first, 95), 3),
        "decode_tokens_per_s": round(tokens / decode_s, 2) if decode_s else None,
        "decode_tokens_per_s_p50": round(statistics.median(rates), 2) if rates else None,
        "end_to_end_s_p50": round(percentile([r.total_s for r in results], 50), 3),
        "end_to_end_s_mean": round(statistics.fmean(r.total_s for r in results), 3),
        "answer_tokens_mean": round(statistics.fmean(r.tokens for r in results), 1),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def agreement(reference: list[str], candidate: list[str]) -> dict:
    """Identical answers and ROUGE-L F1 of `candidate` against `reference`, question by question."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = list(zip(reference, candidate, strict=True))
    scores = [scorer.score(r, c)["rougeL"].fmeasure for r, c in pairs]
    return {
        "identical": f"{sum(r == c for r, c in pairs)}/{len(pairs)}",
        "rouge_l_min": round(min(scores), 3) if scores else None,
        "rouge_l_mean": round(statistics.fmean(scores), 3) if scores else None,
    }
