"""Sentences of a past ticket's reply that were true for its customer only: never quoted to
another.

Such a sentence carries that customer's data (e-mail, phone, name, address, ...; a company's
role address such as support@... or no-reply@... is nobody's), or tells what the replying
agent did or saw on that customer's account ("I've refunded the full €7.99", "I can see your
renewal failed", "I'll escalate this"): quoted to someone else it would claim something that
never happened. Apologies and advice ("I'm sorry", "I'd recommend") are kept.
"""

from __future__ import annotations

import re

ROLE_ADDRESS = re.compile(
    r"(?i)^(?:no-?reply|do-?not-?reply|support|help|helpdesk|info|billing|sales|privacy|"
    r"security|service|contact|hello|team|admin|abuse|postmaster|webmaster)(?:[-_.][\w.-]*)?@"
)
AGENT_ON_THE_ACCOUNT = re.compile(
    r"\bI(?:'ve|\u2019ve| have| had| just| also| already)?"
    r" (?:\w+ed|sent|made|set|put|gave|took|did|got|went|found|told|left|paid|saw|kept|spoke|"
    r"wrote|rang|ran|can see|could see|see that)\b"
    r"|\bI(?:'ll|\u2019ll| will)\b"
)


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
