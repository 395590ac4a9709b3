"""When two close questions still ask for different answers: the guard behind the cosine.

Embeddings put "open a Gold account" and "use my Gold account" at cosine 0.92, and an error
code swapped for another barely moves them. So a match also needs the same identifiers
(error codes, model numbers, versions, amounts) and, where both questions name an action,
a shared one. `python -m bench approved` measures what each part buys (BENCHMARKS.md).
"""

from __future__ import annotations

import re

# Verbs a support question turns on, grouped by the request they make. A pair of questions
# whose actions share no group ask for different things.
ACTION_GROUPS: tuple[tuple[str, ...], ...] = (
    ("open", "create", "creating", "register", "registering", "signup"),
    ("delete", "deleting", "close", "closing", "remove", "removing", "terminate", "erase"),
    ("cancel", "cancelling", "canceling", "cancelled", "canceled", "cancellation"),
    ("change", "changing", "edit", "editing", "modify", "modifying", "update", "updating"),
    ("switch", "switching", "use", "using"),
    ("get", "getting", "download", "downloading", "obtain", "receive"),
    ("check", "checking", "see", "view", "find", "look", "locate", "locating"),
    ("track", "tracking"),
    ("recover", "recovering", "reset", "resetting", "retrieve", "forgot", "forgotten"),
    ("subscribe", "subscribing"),
    ("unsubscribe", "unsubscribing"),
)
_ACTION_OF = {word: group for group, words in enumerate(ACTION_GROUPS) for word in words}

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Letters and digits in one token (E-202, KH-200, iOS18), or dotted numbers (3.2.1, 7.99).
_IDENTIFIER = re.compile(
    r"(?<![\w.-])(?:[A-Za-z]+-?\d[\w-]*|\d+[A-Za-z][\w-]*|\d+(?:\.\d+)+)(?![\w-])"
)


def key_terms(text: str) -> frozenset[str]:
    return frozenset(m.group().upper().replace("-", "") for m in _IDENTIFIER.finditer(text))


def actions(text: str) -> frozenset[int]:
    return frozenset(_ACTION_OF[word] for word in _WORD.findall(text.lower()) if word in _ACTION_OF)


def same_request(question: str, approved: str, guard: str = "full") -> bool:
    """Whether two questions close in meaning can share an answer.

    ``guard``: "full" (identifiers and actions), "terms" (identifiers only) or "none";
    the benchmark compares them.
    """
    if guard == "none":
        return True
    if key_terms(question) != key_terms(approved):
        return False
    if guard == "terms":
        return True
    asked, stored = actions(question), actions(approved)
    return not asked or not stored or bool(asked & stored)
