"""Whether a sentence names someone or holds their details (e-mail, phone, address, ...).

A past ticket's reply was written to one customer: its sentences that carry that customer's
data are never quoted to another. A company's role address (support@..., no-reply@...) is
nobody's personal data.
"""

from __future__ import annotations

import re

ROLE_ADDRESS = re.compile(
    r"(?i)^(?:no-?reply|do-?not-?reply|support|help|helpdesk|info|billing|sales|privacy|"
    r"security|service|contact|hello|team|admin|abuse|postmaster|webmaster)(?:[-_.][\w.-]*)?@"
)


def mentions_personal_data(text: str) -> bool:
    try:
        from tuning.pii import find_pii  # the scrubber that masks the training data
    except ImportError:  # deskloop installed without its tuning package
        return False
    return any(
        not (found.kind == "EMAIL" and ROLE_ADDRESS.match(text[found.start : found.end]))
        for found in find_pii(text)
    )
