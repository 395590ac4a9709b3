"""The shipped corpora's eval questions, for when the knowledge base can answer them.

``corpora/eval/questions.jsonl`` holds questions about the sample knowledge base with
reference answers and the manuals or tickets (gold sources) that answer them. A candidate is
put to it only when every gold source is indexed; otherwise the figures would measure what
is missing from the index, not the adapter.
"""

from __future__ import annotations

from pathlib import Path

from tuning.evaluate import EvalExample, read_eval_file

QUESTIONS = Path("eval") / "questions.jsonl"


def indexed_names(knowledge_base) -> frozenset[str]:
    """What a gold source can name: an indexed file's name, or an indexed record's id."""
    files = {Path(info.source).name for info in knowledge_base.sources()}
    return frozenset(files) | knowledge_base.record_ids()


def shipped_examples(knowledge_base, corpora: Path | None) -> tuple[list[EvalExample] | None, str]:
    """(the questions, what they are) when they can run against ``knowledge_base``, else
    (None, why not)."""
    path = corpora / QUESTIONS if corpora is not None else None
    if path is None or not path.is_file():
        return None, "no shipped eval questions beside the package"
    if knowledge_base is None:
        return None, "nothing is indexed"
    examples = read_eval_file(path)
    gold = {g for example in examples for g in example.gold_ids}
    missing = sorted(gold - indexed_names(knowledge_base))
    if missing:
        return None, (
            f"{len(missing)} of its {len(gold)} gold sources are not indexed "
            f"(such as {missing[0]}); ingest corpora/manuals and corpora/tickets to run it"
        )
    return examples, f"{len(examples)} questions from {path}"
