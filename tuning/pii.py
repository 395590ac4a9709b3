"""Mask personal identifiers in free text with typed placeholders.

Only identifiers that can be told apart from look-alikes are masked: payment cards must
pass the Luhn check, IBANs the mod-97 check and their country's length, US social
security numbers the SSA's allocation rules, IP addresses must parse, and phone numbers
must be valid numbers for one of the configured regions according to libphonenumber.
The words before a number decide the doubtful cases: a bare run of digits is a phone
number only after a phone word ("call me on", "my number is"), nine digits are a social
security number only after "SSN", and nothing written straight after a label such as
"order", "tracking", "SKU" or "version" is masked. Names and postal addresses are found
by the places they are written in (``tuning.pii_people``). Order numbers, ticket ids,
versions, dates and prices are left alone; ``bench/pii.py`` measures both sides.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from tuning.pii_people import address_spans, name_spans

PII_TYPES = ("EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE", "ADDRESS", "NAME")
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN")

Span = tuple[int, int]


@dataclass(frozen=True)
class Scrubbed:
    text: str
    counts: dict[str, int] = field(default_factory=dict)


def placeholder(kind: str) -> str:
    return f"[{kind}]"


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: str


# What a number is, judged by the words before it in its sentence. A label directly
# before the number (fillers such as "no.", "number", "is" or ":" between) says it is an
# identifier of something else.
_ID_LABEL = re.compile(
    r"(?i:\b(?:order|invoice|inv|ticket|case|ref|reference|tracking|waybill|shipment|parcel|"
    r"fedex|ups|usps|dhl|dpd|gls|hermes|royal[ \t]+mail|"
    r"consignment|sku|ean|upc|gtin|isbn|barcode|part|model|serial|s/n|sn|imei|meid|iccid|"
    r"account|acct|customer[ \t]+id|client[ \t]+id|member|membership|routing|aba|sort[ \t]+code|"
    r"po|purchase|transaction|txn|confirmation|booking|reservation|licen[cs]e|product|item|"
    r"article|event[ \t]+id|error|kb|build|version|ver|firmware|fw|driver|release|patch|id))"
    r"(?:[ \t]*(?:no\.?|nr\.?|num|number|id|code|is|was|[#:=]))*[ \t]*$"
)
_VERSION_LABEL = re.compile(
    r"(?i:\b(?:version|ver|v|build|firmware|fw|driver|release|patch|update|os|bios))"
    r"(?:[ \t]*(?:is|was|[#:=]))*[ \t]*$"
)
_PHONE_CUE = re.compile(
    r"(?i:\b(?:phone|tel|telephone|call|called|calling|ring|cell|cellphone|mobile|mob|fax|"
    r"sms|text|whatsapp|signal|reach|contact|dial|hotline|landline|"
    r"(?:my|our|your|his|her|their|best|direct|home|work|office|callback)[ \t]+"
    r"(?:number|no\.?|#))\b)"
)
_SSN_CUE = re.compile(r"(?i:\b(?:ssn|ss#|social[ \t]+security|soc\.?[ \t]*sec)(?![a-z]))")
_CODE_CUE = re.compile(r"(?i:\b(?:barcode|bar[ \t]+code|ean|upc|gtin|sku|isbn|imei|serial)\b)")
_CARD_CUE = re.compile(
    r"(?i:\b(?:card|visa|mastercard|amex|discover|credit|debit|charge|charged|billed|pay|paid)\b)"
)
_SENTENCE_BREAK = re.compile(r"[.!?][ \t]+(?=[A-Z])|\n")


def _before(text: str, start: int, size: int = 50) -> str:
    """The words before ``start`` in its sentence (at most ``size`` characters)."""
    left = text[max(0, start - size) : start]
    breaks = list(_SENTENCE_BREAK.finditer(left))
    return left[breaks[-1].end() :] if breaks else left


def _labelled_as_id(text: str, start: int) -> bool:
    return bool(_ID_LABEL.search(_before(text, start)))


def _last_cue_is(window: str, wanted: re.Pattern[str], other: re.Pattern[str]) -> bool:
    """``wanted`` occurs in ``window`` and no ``other`` cue follows it."""
    hits = [m.end() for m in wanted.finditer(window)]
    if not hits:
        return False
    return not any(m.start() >= hits[-1] for m in other.finditer(window))


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+(?P<tld>[A-Za-z]{2,})(?![\w-])"
)
# File names such as "logo@2x.png" look like addresses; these endings are no top-level domain.
# fmt: off
_FILE_EXTENSIONS = frozenset((
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "heic", "pdf",
    "txt", "log", "csv", "json", "xml", "yaml", "yml", "html", "htm", "exe", "dll", "msi",
    "tmp", "bak", "docx", "xlsx", "pptx", "mp3", "mp4", "wav", "mov",
))
# fmt: on

# Runs of digit groups joined by single spaces, dashes or dots; the valid card is searched
# for among consecutive groups, so "order 12345 4111 1111 1111 1111" masks only the card.
_DIGIT_RUN = re.compile(r"(?<![\w.,+/-])\d+(?:[ .-]\d+)*(?![\w-]|[.,/]\d)")
_CARD_GROUP = re.compile(r"\d{3,6}")

# One character per repetition keeps backtracking linear on long alphanumeric tokens.
_IBAN_RUN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])", re.IGNORECASE)

_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_SSN_UNDASHED = re.compile(r"(?<![\w-])\d{3}( ?)\d{2}\1\d{4}(?![\w-]|[.,]\d)")

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def _email_spans(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        if m.group("tld").lower() not in _FILE_EXTENSIONS:
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
    for start, end in _card_shaped_spans(text):
        if _labelled_as_id(text, start):
            continue
        # "the barcode on the box is 4006381333931": an EAN-13 can pass for a 13-digit Visa.
        if _last_cue_is(_before(text, start), _CODE_CUE, _CARD_CUE):
            continue
        yield start, end


def _card_shaped_spans(text: str) -> Iterator[Span]:
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
            # Inside a longer run (a tracking number) a card must at least end the run.
            ends_run = j == len(groups)
            if len(separators) == 1 and ends_run and _is_card("".join(g[2] for g in chunk)):
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
    for m in _SSN_UNDASHED.finditer(text):
        if _labelled_as_id(text, m.start()):
            continue
        if ssn.is_valid(m.group().replace(" ", "")) and _SSN_CUE.search(_before(text, m.start())):
            yield m.span()


def _ip_spans(text: str) -> Iterator[Span]:
    for pattern, parse in ((_IPV4, ipaddress.IPv4Address), (_IPV6, ipaddress.IPv6Address)):
        for m in pattern.finditer(text):
            if pattern is _IPV6 and not any(c.isdigit() for c in m.group()):
                continue
            if pattern is _IPV4 and _VERSION_LABEL.search(_before(text, m.start())):
                continue
            try:
                parse(m.group())
            except ValueError:
                continue
            yield m.span()


# Dates ("05.11.2020") and dotted codes ("37.69.36") some numbering plans would accept.
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2})|\d{4}([./-])\d{1,2}\2\d{1,2}")


def _dotted_code(raw: str) -> bool:
    return "." in raw and sum(c.isdigit() for c in raw) < 8


def _phone_spans(text: str, regions: Sequence[str]) -> Iterator[Span]:
    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            start, end = match.start, match.end
            # A piece of a longer token ("INV-2024-004512") is not a number of its own.
            if re.match(r"[\w/$€£,.-]", text[start - 1 : start]) or re.match(
                r"[\w-]|[.,]\d", text[end : end + 2]
            ):
                continue
            if _DATE.fullmatch(match.raw_string) or _dotted_code(match.raw_string):
                continue
            if _labelled_as_id(text, start):
                continue
            # A bare run of digits is as likely an order or account number: mask it only
            # where the words before it say it is a phone number.
            if match.raw_string.isdigit() and not _PHONE_CUE.search(_before(text, start)):
                continue
            yield start, end


def _detectors(regions: Sequence[str]) -> list[tuple[str, Callable[[str], Iterator[Span]]]]:
    # Order is priority where spans overlap: an IBAN contains card-like digit groups, and
    # an SSN or card could be read as a phone number, so the stricter checks come first.
    return [
        ("EMAIL", _email_spans),
        ("IBAN", _iban_spans),
        ("CARD", _card_spans),
        ("SSN", _ssn_spans),
        ("IP", _ip_spans),
        ("PHONE", lambda text: _phone_spans(text, regions)),
        ("ADDRESS", address_spans),
        ("NAME", name_spans),
    ]


def find_pii(text: str, regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> list[Found]:
    """Identifiers in ``text``, in order, none overlapping another.

    ``regions`` are the countries (ISO 3166 codes) whose numbering plans a phone number
    written without a ``+`` prefix is checked against.
    """
    found: list[Found] = []
    taken: list[Span] = []
    for kind, find in _detectors(regions):
        for start, end in _non_overlapping(list(find(text))):
            if not any(start < e and s < end for s, e in taken):
                found.append(Found(start, end, kind))
                taken.append((start, end))
    return sorted(found, key=lambda f: f.start)


def scrub(text: str, regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> Scrubbed:
    """Replace identifiers with placeholders such as ``[EMAIL]``; count them by type."""
    found = find_pii(text, regions)
    for f in reversed(found):
        text = text[: f.start] + placeholder(f.kind) + text[f.end :]
    return Scrubbed(text, dict(Counter(f.kind for f in found)))


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """The longest of spans that start together, then the first of those that overlap."""
    kept: list[Span] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept
