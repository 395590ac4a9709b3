"""Mask personal identifiers in free text with typed placeholders.

Only identifiers that can be told apart from look-alikes are masked: payment cards must
pass the Luhn check, IBANs the mod-97 check and their country's length, US social
security numbers the SSA's allocation rules, IP addresses must parse, and phone numbers
must be valid numbers for their region according to libphonenumber. Order numbers,
ticket ids, versions, dates and prices are left alone.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

PII_TYPES = ("EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE")

Span = tuple[int, int]


@dataclass(frozen=True)
class Scrubbed:
    text: str
    counts: dict[str, int] = field(default_factory=dict)


def placeholder(kind: str) -> str:
    return f"[{kind}]"


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])"
)

# Runs of digit groups joined by single spaces or dashes; the valid card is searched
# for among consecutive groups, so "order 12345 4111 1111 1111 1111" masks only the card.
_DIGIT_RUN = re.compile(r"(?<![\w.,+/-])\d+(?:[ -]\d+)*(?![\w-]|[.,/]\d)")
_CARD_GROUP = re.compile(r"\d{3,6}")

# One character per repetition keeps backtracking linear on long alphanumeric tokens.
_IBAN_RUN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])", re.IGNORECASE)

_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def _email_spans(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield m.span()


# Issuer prefixes (IIN ranges) and lengths of the major card networks.
_CARD_NETWORKS = (
    (re.compile(r"4"), (13, 16, 19)),  # Visa
    (re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),  # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),  # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), (16, 19)),  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 16, 19)),  # Diners Club
    (re.compile(r"62"), (16, 17, 18, 19)),  # UnionPay
    (re.compile(r"5[06-9]|6\d"), (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
)


def _is_card(digits: str) -> bool:
    """A number a card network could have issued: a known prefix and length, and Luhn-valid."""
    issued = any(
        prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_NETWORKS
    )
    return issued and luhn.is_valid(digits)


def _card_spans(text: str) -> Iterator[Span]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [
            (m.start() + run.start(), m.end() + run.start(), m.group())
            for m in re.finditer(r"\d+", run.group())
        ]
        if len(groups) == 1:
            start, end, digits = groups[0]
            if _is_card(digits):
                yield start, end
            continue
        yield from _grouped_card_spans(text, groups)


def _grouped_card_spans(text: str, groups: list[tuple[int, int, str]]) -> Iterator[Span]:
    """Longest runs of 2-5 consecutive 3-6 digit groups, one separator kind, passing Luhn."""
    i = 0
    while i < len(groups):
        found = None
        for j in range(min(len(groups), i + 5), i + 1, -1):
            chunk = groups[i:j]
            if not all(_CARD_GROUP.fullmatch(g[2]) for g in chunk):
                continue
            separators = {text[a[1] : b[0]] for a, b in itertools.pairwise(chunk)}
            if len(separators) == 1 and _is_card("".join(g[2] for g in chunk)):
                found = (chunk[0][0], chunk[-1][1], j)
                break
        if found:
            yield found[0], found[1]
            i = found[2]
        else:
            i += 1


def _iban_spans(text: str) -> Iterator[Span]:
    for run in _IBAN_RUN.finditer(text):
        # The run may swallow a following short word ("... 00 OK"): try shorter prefixes.
        candidate = run.group()
        while candidate:
            if iban.is_valid(candidate):
                yield run.start(), run.start() + len(candidate)
                break
            cut = candidate.rfind(" ")
            candidate = candidate[:cut] if cut > 0 else ""


def _ssn_spans(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group()):
            yield m.span()


def _ip_spans(text: str) -> Iterator[Span]:
    for pattern, parse in ((_IPV4, ipaddress.IPv4Address), (_IPV6, ipaddress.IPv6Address)):
        for m in pattern.finditer(text):
            if pattern is _IPV6 and not any(c.isdigit() for c in m.group()):
                continue
            try:
                parse(m.group())
            except ValueError:
                continue
            yield m.span()


_PHONE_CONTEXT = re.compile(
    r"\b(?:phone|tel|telephone|call|called|calling|cell|mobile|fax|sms|text|whatsapp|"
    r"reach|contact|dial|hotline)\b[^\n]{0,30}$",
    re.IGNORECASE,
)


def _phone_spans(text: str, region: str) -> Iterator[Span]:
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        # A bare run of digits is as likely an order or account number: mask it only
        # where the words before it say it is a phone number.
        if match.raw_string.isdigit() and not _PHONE_CONTEXT.search(text[: match.start]):
            continue
        yield match.start, match.end


def _detectors(region: str) -> list[tuple[str, Callable[[str], Iterator[Span]]]]:
    # Order matters: an IBAN contains card-like digit groups, and an SSN or card could be
    # read as a phone number, so the stricter checks run first.
    return [
        ("EMAIL", _email_spans),
        ("IBAN", _iban_spans),
        ("CARD", _card_spans),
        ("SSN", _ssn_spans),
        ("IP", _ip_spans),
        ("PHONE", lambda text: _phone_spans(text, region)),
    ]


def scrub(text: str, region: str = "US") -> Scrubbed:
    """Replace identifiers with placeholders such as ``[EMAIL]``; count them by type.

    ``region`` is the country assumed for phone numbers written without a ``+`` prefix.
    """
    counts: Counter[str] = Counter()
    for kind, find in _detectors(region):
        spans = _non_overlapping(list(find(text)))
        for start, end in reversed(spans):
            text = text[:start] + placeholder(kind) + text[end:]
        counts[kind] += len(spans)
    return Scrubbed(text, {kind: n for kind, n in counts.items() if n})


def _non_overlapping(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for start, end in sorted(spans):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept
