"""Answer quality metrics: ROUGE-L and token F1 against a reference, and declines.

An answer *declines* when it says it lacks the answer (an ignorance phrase such as "I
don't know", "the sources do not cover this", "I can't find", anywhere in it), or when
its opening sentence hands the question off (escalate / a human or senior agent). An
answer that helps and only mentions escalation later as a fallback does not decline.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from functools import cache

IGNORANCE = re.compile(
    r"\b("
    r"i (do not|don't|dont) know"
    r"|i(?: am|'m) not (sure|certain|able to (answer|help|find))"
    r"|i (do not|don't|dont) have (enough |any |the )?(information|details|data)"
    r"|i (cannot|can't|can not|am unable to|'m unable to) (answer|find|help with|say)"
    r"|(there is|there's) no (information|mention)"
    r"|no information (about|on|in)"
    r"|nothing in the (knowledge base|sources|documentation)"
    r"|(sources|knowledge base|documentation) (do|does) not (answer|cover|mention|say|contain)"
    r"|not (covered|mentioned|addressed|answered) (in|by) the (sources|knowledge base|docs)"
    r")",
    re.IGNORECASE,
)
HAND_OFF = re.compile(
    r"\b(escalat\w*|(human|senior|live) (agent|colleague|representative|team))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def declines(answer: str) -> bool:
    text = answer.replace("\u2019", "'").strip()
    if not text:
        return False
    if IGNORANCE.search(text):
        return True
    opening = _SENTENCE_END.split(text, maxsplit=1)[0]
    return bool(HAND_OFF.search(opening))


def normalize_tokens(text: str) -> list[str]:
    """SQuAD-style: lower case, no punctuation, no articles, whitespace tokens."""
    text = text.lower()
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    return [t for t in text.split() if t not in ("a", "an", "the")]


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@cache
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence), stemmed."""
    return _scorer().score(reference, prediction)["rougeL"].fmeasure


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
