"""Instructions aimed at the assistant inside text it was given as data.

A manual page, a ticket resolution or an agent's correction is material to answer from, never
a command. A sentence that addresses the assistant (drop its instructions, reveal them, take a
new role, cite a given source, tell the customer something, ask for a password or a card
number) is an injected instruction. In a source, so is text that forges the prompt's own
structure: a sentence opening with a citation marker or a source heading ("[2] Refund
policy: ..."), a "Sources:" header, a role or delimiter tag. A marker inside a sentence (a
link number in an exported page) is only removed.

Flagged sentences are never evidence, never quoted, left out of the prompt, and a correction
holding one is kept out of training.
"""

from __future__ import annotations

import re

from assistant.answering.text import SENTENCE_BREAK, Unit

_FLAGS = re.IGNORECASE | re.MULTILINE

_OVERRIDE = r"\b(?:ignor|disregard|forget|overrid|bypass)\w*"
_QUALIFIER = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|existing"
    r"|your|all|any|other)"
)
_DIRECTIVES = r"(?:instructions?|prompts?|directions|guidelines|directives|guardrails|programming)"
_SECRET = (
    r"(?:passwords?|passcodes?|pins?(?:\s+codes?)?|one-time\s+(?:codes?|passwords?)|otps?"
    r"|(?:verification|security|2fa|two-factor|login|sign-in|sms|authenticator|backup|recovery)"
    r"\s+codes?|cvv|cvc|card\s+(?:numbers?|details)|credit\s+cards?|full\s+card)\b"
)
_HAND_OVER = (
    r"\b(?:send(?:s|ing)?|sent|giv(?:e|es|ing)|shar(?:e|es|ing)|provid(?:e|es|ing)|e-?mail(?:s|ing)?"
    r"|tell(?:s|ing)?|forward(?:s|ing)?|text(?:s|ing)?|read(?:ing)?\s+out|dm|includ(?:e|es|ing)"
    r"|typ(?:e|es|ing)|past(?:e|es|ing)|post(?:s|ing)?|repl(?:y|ies|ying)\s+with"
    r"|confirm(?:s|ing)?|submit(?:s|ting)?|enter(?:s|ing)?)\b"
)
_RECIPIENT = re.compile(
    r"\b(?:to|with)\s+(?:us|me|support|our\b|the\s+(?:agent|assistant|support|team|bot|chat)"
    r"|this\s+(?:chat|address|number|thread)|an?\s+(?:agent|support))"
    r"|\bin\s+(?:this|the|your|a)\s+(?:chat|reply|response|message|ticket|thread)"
    r"|\breply\s+with\b|[\w.+-]+@[\w-]+\.\w"
    r"|\b(?:send|give|tell|e-?mail|text|dm)\s+(?:(?:us|me)\s+(?:your|their)|you\s+my)\b",
    _FLAGS,
)
_HANDED_OVER = re.compile(_HAND_OVER + r"[^.]{0,60}?" + _SECRET, _FLAGS)
_ASKED_FOR = re.compile(
    r"\bask(?:s|ing)?\s+(?:the\s+|every\s+|all\s+|each\s+)?(?:customers?|users?|callers?"
    r"|clients?|them|him|her|me|us)\s+(?:for|to\s+\w+)\s+(?:\w+\s+){0,3}"
    + _SECRET
    + r"|\b(?:collect|request|obtain|require)\s+(?:the\s+)?(?:customer's|user's|their)"
    r"\s+(?:\w+\s+){0,2}" + _SECRET,
    _FLAGS,
)
# A negation governing the hand-over: "never ask you to send", "do not share".
_NEGATED = re.compile(r"(?:\bnever|\bnot|n't|\bno\s+need\s+to)\s+(?:\w+\s+){0,3}$", re.IGNORECASE)
_AUDIENCE = r"(?:the\s+|every\s+|all\s+|any\s+|each\s+)?(?:customers?|users?|callers?|clients?)"

# Aimed at the assistant wherever they appear: sources, customer messages, corrections.
INSTRUCTION_RULES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, _FLAGS)
    for name, pattern in {
        "override": (
            rf"{_OVERRIDE}\s+(?:(?:all|any|of|the|your|my)\s+)*{_QUALIFIER}\s+(?:\w+\s+)?"
            rf"{_DIRECTIVES}"
            rf"|{_OVERRIDE}\s+(?:the\s+)?{_DIRECTIVES}\s+(?:above|before|earlier|so\s+far"
            r"|you\s+(?:were|have\s+been)\s+given)"
            rf"|{_OVERRIDE}\s+everything\s+(?:above|before|you\s+(?:were|have\s+been)\s+told)"
            r"|\bnew\s+instructions\s*:"
        ),
        "new_role": (
            r"\byou\s+are\s+now\b[^.\n]{0,40}\b(?:assistant|ai|bot|chatbot|language\s+model|llm"
            r"|persona|unrestricted|unfiltered|jailbroken|dan|without\s+(?:rules|restrictions"
            r"|limits|filters))\b"
            r"|\bpretend\s+(?:to\s+be|you\s+are)\b"
            r"|\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:are|were|have)\s+no"
            r"|an?\s+(?:unrestricted|unfiltered|different)\b)"
            r"|\byour\s+new\s+(?:role|instructions|task|persona)\b"
            r"|\b(?:developer|god|dan)\s+mode\b|\bjailbr[eo]a?k"
            r"|\bfrom\s+now\s+on\b[^.\n]{0,40}\b(?:answer|respond|reply)"
        ),
        "reveal_prompt": (
            r"\b(?:reveal|show|print|repeat|output|display|recite|disclose|leak|share|tell|give"
            r"|write\s+out|dump|paste|include|what\s+(?:is|are))\b[^.\n]{0,50}"
            r"\b(?:system\s+(?:prompt|message|instructions|policy)|(?:your|the\s+assistant's"
            r"|deskloop's|hidden|initial|original|internal)\s+(?:instructions|prompt|rules|policy"
            r"|guidelines|configuration))\b"
        ),
        "tell_customer": (
            r"\b(?:always|instead|regardless|whatever|no\s+matter|in\s+your\s+(?:answer|reply"
            r"|response))\b[^.\n]{0,30}\b(?:tell|inform|advise|instruct|remind)\s+"
            + _AUDIENCE
            + r"|\bwhen\s+(?:you\s+)?(?:answer|repl|respond)\w*[^.\n]{0,30}\b(?:tell|inform|advise"
            r"|instruct|remind)\s+"
            + _AUDIENCE
            + r"|^[\s\-*>#]*(?:note\s+to\s+)?(?:the\s+)?(?:ai|assistant|chatbot|bot|language"
            r"\s+model|llm|deskloop)s?\s*[:,]"
            r"|\b(?:ai|chatbot|bot|language\s+model|llm|the\s+assistant)s?\s+(?:must|should|shall"
            r"|always|needs?\s+to|(?:is|are)\s+required\s+to)\b"
            r"|\bnote\s+to\s+(?:the\s+)?(?:ai|assistant|bot|model)\b"
        ),
        "cite_source": (
            r"\b(?:cite|citing|cited|attribute)\b[^.\n]{0,40}(?:\[\d+\]|\bsources?\s*\d+"
            r"|\bsource\s+number|\bthis\s+(?:page|document|article|source))"
            r"|\b(?:always|only)\s+cite\b"
        ),
    }.items()
}

# Only in text given as a source: it forges the structure of the prompt deskloop builds.
MARKER_RULES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, _FLAGS)
    for name, pattern in {
        # a marker opening a sentence, or a forged source heading: "[3] Korvo policy:"
        "fake_marker": r"^[\s\-*>#]*\[\d+\]|\[\d+\]\s+[A-Z][a-z]+(?:\s+[\w-]+){0,5}:",
        "fake_header": (
            r"^\s*(?:sources?|references?|citations?|customer\s+question|system|assistant)"
            r"\s*(?:\[\d+\])?\s*:(?!:)"
        ),
        "fake_delimiter": (
            r"</?\s*source\b|<\|\w+\|>|\[/?inst\]|<</?sys>>"
            r"|\b(?:end|beginning|start)\s+of\s+(?:the\s+)?(?:sources?|context|system\s+prompt)"
            r"|^\s*#{2,}\s*(?:system|instructions?|new\s+instructions)\b"
        ),
    }.items()
}

_SENTENCES = re.compile(SENTENCE_BREAK)
_SENTENCE_END = re.compile(r"[.!?:;][\"')\]]*\s*$")
_BLANK_LINES = re.compile(r"\n\s*\n(?:\s*\n)+")
_NEW_BLOCK = re.compile(r"^\s*(?:[-*+\u2022|>#]|\d{1,2}[.)]\s)")
_MARKER = re.compile(r"\s*\[\d+\]")


def instruction_flags(text: str) -> list[str]:
    """Names of the instruction rules ``text`` matches (a customer message, a correction)."""
    found = [name for name, rule in INSTRUCTION_RULES.items() if rule.search(text)]
    return found + _secret_requests(text)


def source_flags(text: str) -> list[str]:
    """Names of every rule ``text``, given as a source, matches."""
    markers = [name for name, rule in MARKER_RULES.items() if rule.search(text)]
    return instruction_flags(text) + markers


def is_injected(text: str) -> bool:
    """Whether a source's sentence holds an instruction or a forged prompt marker."""
    return bool(source_flags(text))


def injected_sentences(text: str) -> list[str]:
    """The sentences of a correction or message that hold an instruction for the assistant."""
    return [s for line in unwrap(text) for s in _split(line) if instruction_flags(s)]


def without_injected(units: list[Unit]) -> list[Unit]:
    """The units outside flagged sentences; a sentence cut over lines is judged whole."""
    groups: list[list[Unit]] = []
    for unit in units:
        last = groups[-1][-1] if groups else None
        if last and _wrapped(last, unit):
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return [
        unit
        for group in groups
        if not is_injected(" ".join(u.text for u in group))
        and not any(is_injected(u.text) for u in group)
        for unit in group
    ]


def clean_source(text: str) -> str:
    """A source as the prompt shows it: flagged sentences left out, markers neutralised."""
    lines = []
    for line in unwrap(text):
        sentences = _split(line)
        kept = [s for s in sentences if not is_injected(s)]
        if len(kept) == len(sentences):
            lines.append(line)
        elif kept:
            lines.append(" ".join(kept))
    return _BLANK_LINES.sub("\n\n", _MARKER.sub("", "\n".join(lines))).strip()


def unwrap(text: str) -> list[str]:
    """The text's lines with hard wraps undone (PDF pages, wrapped Markdown)."""
    lines: list[str] = []
    for line in text.splitlines():
        previous = lines[-1] if lines else ""
        goes_on = previous.strip() and not _SENTENCE_END.search(previous)
        if goes_on and line.strip() and not _NEW_BLOCK.match(line):
            lines[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return lines


def _wrapped(last: Unit, unit: Unit) -> bool:
    """Whether ``unit`` goes on with the sentence ``last`` left unfinished on the line above."""
    return unit.line == last.line + 1 and not unit.is_step and not _SENTENCE_END.search(last.text)


def _split(line: str) -> list[str]:
    return [s for s in _SENTENCES.split(line.strip()) if s.strip()]


def _secret_requests(text: str) -> list[str]:
    """Requests for a password, a code or a card number: "email your password to verify@...",
    "ask the customer for their CVV"; not when negated ("we never ask you to send it").

    A hand-over needs its secret close by and a recipient named.
    """
    found = []
    for sentence in _split(" ".join(text.split())):
        if _RECIPIENT.search(sentence) and _asserted(_HANDED_OVER, sentence):
            found.append("hand_over_secret")
        if _asserted(_ASKED_FOR, sentence):
            found.append("ask_secret")
    return list(dict.fromkeys(found))


def _asserted(pattern: re.Pattern[str], sentence: str) -> bool:
    for match in pattern.finditer(sentence):
        before = sentence[max(0, match.start() - 40) : match.start()]
        if not _NEGATED.search(before) or "forget" in before.lower():
            return True
    return False
