from __future__ import annotations

from dataclasses import dataclass

from assistant.app import shipped_corpora
from tuning.evaluate import read_eval_file
from tuning.shipped_eval import QUESTIONS, shipped_examples


@dataclass
class Info:
    source: str


class IndexedKnowledgeBase:
    """What the shipped eval asks of a knowledge base: its files and its record ids."""

    def __init__(self, files: list[str], records: set[str]):
        self.files, self.records = files, records

    def sources(self) -> list[Info]:
        return [Info(f"/data/corpora/{name}") for name in self.files]

    def record_ids(self) -> frozenset[str]:
        return frozenset(self.records)


def everything_indexed() -> IndexedKnowledgeBase:
    gold = {g for e in read_eval_file(shipped_corpora() / QUESTIONS) for g in e.gold_ids}
    files = sorted(g for g in gold if "." in g)
    return IndexedKnowledgeBase(files, {g for g in gold if "." not in g} | {"KT-00001"})


def test_runs_when_every_gold_source_is_indexed():
    examples, note = shipped_examples(everything_indexed(), shipped_corpora())

    assert examples is not None and len(examples) == 51
    assert sum(not e.expects_answer for e in examples) == 11
    assert note.startswith("51 questions")


def test_does_not_run_when_a_gold_source_is_missing_or_nothing_is_indexed():
    partial = everything_indexed()
    partial.files.remove("account-password-reset.md")

    examples, note = shipped_examples(partial, shipped_corpora())
    nothing = shipped_examples(None, shipped_corpora())
    elsewhere = shipped_examples(everything_indexed(), None)

    assert examples is None and "account-password-reset.md" in note and "not indexed" in note
    assert nothing == (None, "nothing is indexed")
    assert elsewhere[0] is None and "no shipped eval" in elsewhere[1]
