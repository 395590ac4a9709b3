"""An answer sentence that recites the system policy is a leak, whatever asked for it."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+")
RUN = 7  # words in a row shared with the policy; "I suggest escalating to a human agent": six


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def policy_runs(policy: str, run: int = RUN) -> frozenset[tuple[str, ...]]:
    words = _words(policy)
    return frozenset(tuple(words[i : i + run]) for i in range(len(words) - run + 1))


def recites_policy(sentence: str, runs: frozenset[tuple[str, ...]], run: int = RUN) -> bool:
    words = _words(sentence)
    return any(tuple(words[i : i + run]) in runs for i in range(len(words) - run + 1))
