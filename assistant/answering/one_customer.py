"""Sentences of a past ticket's reply that were true for its customer only: never quoted to
another.

Such a sentence carries that customer's data (e-mail, phone, name, address, ...; a company's
role address such as support@... or no-reply@... is nobody's), or tells what the replying
agent did or saw on that customer's account ("I've refunded the full €7.99", "I can see your
renewal failed", "I'll escalate this"): quoted to someone else it would claim something that
never happened. Apologies and advice ("I'm sorry", "I'd recommend") are kept, and so is what
comes before such a claim in its sentence ("... choose Request account recovery; I can see the
request is now open on your account" keeps the step).
"""

from __future__ import annotations

import re

ROLE_ADDRESS = re.compile(
    r"(?i)^(?:no-?reply|do-?not-?reply|support|help|helpdesk|info|billing|sales|privacy|"
    r"security|service|contact|hello|team|admin|abuse|postmaster|webmaster)(?:[-_.][\w.-]*)?@"
)
AGENT_ON_THE_ACCOUNT = re.compile(
    r"\bI(?:'ve|\u2019ve| have| had)?(?: just| also| already| now)?"
    r" (?:\w+ed|sent|made|set|put|gave|took|did|done|got|went|found|told|left|paid|saw|kept|"
    r"spoke|wrote|rang|ran|can see|could see|see that)\b"
    r"|\bI(?:'ll|\u2019ll| will)\b"
)


def for_any_customer(sentence: str) -> str | None:
    """The sentence up to its first clause (``;``-separated) that was true for its customer
    only, ending as the sentence did; None when nothing comes before that clause."""
    clauses = sentence.split("; ")
    for count, clause in enumerate(clauses):
        if written_for_one_customer(clause):
            if count == 0:
                return None
            kept = "; ".join(clauses[:count]).rstrip(" ,")
            return kept + (sentence[-1] if sentence[-1] in ".!?" else "")
    return sentence


def written_for_one_customer(sentence: str) -> bool:
    return bool(AGENT_ON_THE_ACCOUNT.search(sentence)) or mentions_personal_data(sentence)


def mentions_personal_data(text: str) -> bool:
    try:
        from tuning.pii import find_pii  # the scrubber that masks the training data
    except ImportError:  # deskloop installed without its tuning package
        return False
    return any(
        not (found.kind == "EMAIL" and ROLE_ADDRESS.match(text[found.start : found.end]))
        for found in find_pii(text)
    )
