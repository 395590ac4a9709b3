"""`deskloop eval`-style evaluation speed for bench/chat_path (--eval-rows): the gate's answerer
(tuning/eval_answers.py, through the backend seam) with an adapter, served form against plain
PEFT `generate`, rows interleaved.

The answers are the model's own (answers.compose = "model": it writes from the evidence), so
the figure is about generation; with "quote" an answer is quoted and the model only scores
evidence spans.
"""

from __future__ import annotations

import json
import time

from bench.chat_path_runs import QUESTIONS, AdapterSpec, Log, agreement, serving_of

BASELINE = "plain"


def eval_rows(count: int) -> list:
    from tuning.evaluate import EvalExample

    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [
        EvalExample(
            [{"role": "user", "content": row["question"]}],
            row.get("reference"),
            answerable=row.get("answerable"),
        )
        for row in rows[:count]
    ]


def eval_speed(settings, adapter: AdapterSpec, forms: list[str], count: int, log: Log) -> dict:
    """Seconds for ``count`` eval rows per form (the baseline, plain generate, first)."""
    from assistant.model_prep import prepare_base_model
    from tuning.eval_answers import open_answerer

    examples = eval_rows(count)
    answerers = {}
    for form in (BASELINE, *forms):
        changed = settings.model_copy(update=serving_of(form), deep=True)
        changed.answers.compose = "model"
        answerers[form] = open_answerer(changed, prepare_base_model(changed))
        answerers[form].use(adapter.version, adapter.path)
    seconds = dict.fromkeys(answerers, 0.0)
    answers: dict[str, list[str]] = {form: [] for form in answerers}
    for i, example in enumerate(examples):
        order = list(answerers) if i % 2 == 0 else list(reversed(answerers))
        for form in order:
            started = time.perf_counter()
            result = answerers[form].answer(example)
            seconds[form] += time.perf_counter() - started
            answers[form].append(result.answer)
        log(
            f"eval row {i + 1}/{len(examples)}: "
            + ", ".join(f"{f} {s:.1f}s" for f, s in seconds.items())
        )
    figures = {
        "rows": len(examples),
        "compose": "model",
        "served_forms": {form: answerer.served_form for form, answerer in answerers.items()},
        "seconds": {form: round(s, 1) for form, s in seconds.items()},
        "speedup_vs_plain_generate": {
            form: round(seconds[BASELINE] / s, 2) for form, s in seconds.items() if s
        },
        "agreement_with_plain": {
            form: agreement(answers[BASELINE], answers[form]) for form in forms
        },
    }
    for answerer in answerers.values():
        answerer.close()
    return figures
