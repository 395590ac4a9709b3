"""The answer layer as the engine uses it: plan from the sources, write, check.

`plan` picks the evidence and decides whether the sources answer the question; `quote`
writes the answer from the evidence alone; `evidence_sources` narrows the sources to the
evidence for a model to write from; `check` attaches and verifies the citations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.answering.answerability import Answerability, assess
from assistant.answering.citations import CheckedAnswer, check_citations, with_markers
from assistant.answering.evidence import Embed, Evidence, select_evidence
from assistant.settings import AnswerSettings


@dataclass(frozen=True)
class GroundingPlan:
    evidence: list[Evidence]
    answerability: Answerability
    answerable: bool

    def to_dict(self) -> dict:
        return {
            "answerable": self.answerable,
            **self.answerability.to_dict(),
            "evidence": [{"n": e.n, "text": e.text} for e in self.evidence],
        }


class Grounder:
    def __init__(
        self,
        embed: Embed,
        settings: AnswerSettings,
        vocabulary: Callable[[], frozenset[str]] = frozenset,
    ):
        self.embed = embed
        self.settings = settings
        self.vocabulary = vocabulary  # the knowledge base's words, read when a question comes

    def plan(self, messages: list[dict], sources: dict[int, str]) -> GroundingPlan:
        from retrieval import build_query

        question = messages[-1]["content"]
        parts = [(p.text, p.weight) for p in build_query(messages).parts]
        evidence = select_evidence(question, parts, sources, self.embed, self.settings.max_words)
        score = evidence[0].score if evidence else 0.0
        answerability = assess(question, sources, score, self.vocabulary())
        options = self.settings
        answerable = bool(evidence) and answerability.answerable(
            options.min_coverage, options.min_evidence, options.max_unknown_words
        )
        return GroundingPlan(evidence, answerability, answerable)

    @staticmethod
    def quote(plan: GroundingPlan) -> str:
        """The evidence sentences, a line per line of the source, each cited."""
        lines: list[list[str]] = []
        last_line = None
        for item in plan.evidence:
            if (item.n, item.unit.line) != last_line:
                lines.append([])
                last_line = (item.n, item.unit.line)
            lines[-1].append(with_markers(item.text, [item.n]))
        return "\n".join(" ".join(sentences) for sentences in lines)

    @staticmethod
    def evidence_sources(plan: GroundingPlan) -> dict[int, str]:
        """Each source cut to its evidence sentences (sources without evidence dropped)."""
        kept: dict[int, list[str]] = {}
        for item in plan.evidence:
            kept.setdefault(item.n, []).append(item.text)
        return {n: " ".join(texts) for n, texts in kept.items()}

    @staticmethod
    def check(answer: str, sources: dict[int, str]) -> CheckedAnswer:
        return check_citations(answer, sources)
