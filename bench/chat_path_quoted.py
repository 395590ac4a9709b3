"""The shipped answer mode's wait for bench/chat_path (--quoted): grounded questions answered as
the app answers them by default (answers.compose = "quote": evidence sentences quoted and
cited), through the answer layer the app and the gate share (tuning/eval_answers.py).

Without an adapter no model runs: the wait is retrieval and evidence selection. With one, the
served model scores the evidence spans and the best is quoted (assistant/span_scores.py).
"""

from __future__ import annotations

import time

from bench.chat_path_runs import WARM_UP, AdapterSpec, Log, percentile


def quoted_waits(settings, adapter: AdapterSpec | None, questions: list[str], log: Log) -> dict:
    """p50/p95 seconds until a quoted answer is whole (it comes as one piece, so its first token
    is no later), base model then ``adapter``."""
    from assistant.model_prep import prepare_base_model
    from tuning.eval_answers import open_answerer
    from tuning.evaluate import EvalExample

    quoting = settings.model_copy(deep=True)
    quoting.answers.compose = "quote"
    answerer = open_answerer(quoting, prepare_base_model(quoting))
    figures: dict = {"compose": "quote", "served_form": answerer.served_form}
    runs = [("base_model", None)] + ([("with_adapter", adapter)] if adapter else [])
    for label, spec in runs:
        answerer.use(spec.version if spec else None, spec.path if spec else None)
        answerer.answer(EvalExample([{"role": "user", "content": WARM_UP}], None))
        waits, statuses = [], []
        for i, question in enumerate(questions):
            started = time.perf_counter()
            result = answerer.answer(EvalExample([{"role": "user", "content": question}], None))
            waits.append(time.perf_counter() - started)
            statuses.append(result.status)
            log(f"quoted q{i + 1} {label}: {waits[-1]:.2f}s ({result.status})")
        figures[label] = {
            "whole_answer_s_p50": round(percentile(waits, 50), 3),
            "whole_answer_s_p95": round(percentile(waits, 95), 3),
            "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        }
    answerer.close()
    return figures
