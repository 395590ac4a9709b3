"""The answer layer as the engine uses it: plan from the sources, write, check.

`plan` picks the evidence and decides whether the sources answer the question; `quote`
writes the answer from the evidence alone; `evidence_sources` narrows the sources to the
evidence for a model to write from; `check` attaches and verifies the citations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from assistant.answering.answerability import Answerability, assess
from assistant.answering.citations import CheckedAnswer, check_citations, with_markers
from assistant.answering.evidence import Embed, Evidence, select_evidence
from assistant.settings import AnswerSettings


@dataclass(frozen=True)
class GroundingPlan:
    evidence: list[Evidence]
    answerability: Answerability
    answerable: bool
    alternatives: list[list[Evidence]] = field(default_factory=list)  # evidence first
    model_scores: list[float] | None = None  # the model's log-probability of each

    def to_dict(self) -> dict:
        return {
            "answerable": self.answerable,
            **self.answerability.to_dict(),
            "evidence": [{"n": e.n, "text": e.text} for e in self.evidence],
            "alternatives": len(self.alternatives),
            "model_scores": self.model_scores and [round(x, 3) for x in self.model_scores],
        }


class Grounder:
    def __init__(
        self,
        embed: Embed,
        settings: AnswerSettings,
        vocabulary: Callable[[], frozenset[str]] = frozenset,
        is_rare: Callable[[str], bool] = lambda word: False,
    ):
        self.embed = embed
        self.settings = settings
        self.vocabulary = vocabulary  # the knowledge base's words, read when a question comes
        self.is_rare = is_rare  # a name or jargon word rather than everyday language

    def plan(
        self,
        messages: list[dict],
        sources: dict[int, str],
        headings: dict[int, str] | None = None,
    ) -> GroundingPlan:
        """``headings``: the section (or a ticket's subject) each source sits under."""
        from retrieval import build_query

        question = messages[-1]["content"]
        parts = [(p.text, p.weight) for p in build_query(messages).parts]
        options = self.settings
        spans = select_evidence(
            question,
            parts,
            sources,
            self.embed,
            options.max_words,
            options.model_choices,
            options.min_words,
            options.min_evidence,
            headings,
        )
        evidence = spans[0] if spans else []
        score = evidence[0].score if evidence else 0.0
        answerability = assess(question, sources, score, self.vocabulary(), self.is_rare)
        answerable = bool(evidence) and answerability.answerable(
            options.min_coverage, options.min_evidence, options.max_unknown_words
        )
        return GroundingPlan(evidence, answerability, answerable, spans)

    def choose(self, plan: GroundingPlan, model_scores: list[float]) -> GroundingPlan:
        """The alternative that best combines the evidence score with the model's preference
        (its mean log-probability of saying it): an adapter trained on the agents' answers
        moves the choice towards what they would send."""
        weight = self.settings.model_weight
        combined = [
            span[0].score + weight * lp
            for span, lp in zip(plan.alternatives, model_scores, strict=True)
        ]
        best = max(range(len(combined)), key=combined.__getitem__)
        return replace(plan, evidence=plan.alternatives[best], model_scores=model_scores)

    @staticmethod
    def plain_text(evidence: list[Evidence]) -> str:
        """A span as the model would say it: its sentences, no markers."""
        return " ".join(item.text for item in evidence)

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


def knowledge_base_grounder(knowledge_base, settings: AnswerSettings) -> Grounder:
    """The answer layer over ``knowledge_base`` as the app, the server and the gate use it:
    its embedding model (remembering the sentences of sources questions share), its words and
    its vocabulary's rare words."""
    embedder = knowledge_base.embedder
    return Grounder(
        embedder.embed_remembered, settings, knowledge_base.vocabulary, embedder.is_rare_word
    )
