"""Find person names and postal addresses by the places they are written in.

A capitalised word is a name only where support messages put names: after a greeting
("Hi Maria,"), under a sign-off ("Thanks,\\nJohn Smith"), in a self-introduction ("my
name is ..."), after a title ("Ms. García") or in a ticket field ("Name: ..."); words
that name teams, departments, companies or products ("Hi team", "Regards, IT Helpdesk")
are not. An address is a house number and a street ending in a street type (US, UK) or a
German street with its number, with the city and postcode that follow; a postcode alone
is masked where a word before it says it is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int]

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_CAP = rf"[{_UPPER}][{_LOWER}]"  # a capital, then a lower-case letter
# "Smith", "O'Brien", "McDonald", "Schneider-Weber"
_WORD = rf"(?:[{_UPPER}]['’])?{_CAP}+(?:{_CAP}+)?(?:-{_CAP}+)?"
_SHOUTED = rf"[{_UPPER}](?:[{_UPPER}]|['’-][{_UPPER}])+"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|la|le|del|della|dos|das|bin|ibn|al|ter|ten)"
_PARTICLES = rf"(?:{_PARTICLE}[ \t]+){{0,2}}"
_NAME = rf"{_PARTICLES}{_WORD}(?:[ \t]+{_PARTICLES}(?:{_WORD}|[{_UPPER}]\.)){{0,3}}"
_SHOUTED_NAME = rf"{_SHOUTED}(?:[ \t]+{_SHOUTED}){{1,3}}"
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?"

# Words that, anywhere in a would-be name, make it a team, company or product instead.
_NOT_NAMES = frozenset(
    """
    team teams support service services desk helpdesk help customer customers client clients
    all everyone everybody there folks guys friends colleagues sir madam madame gentlemen
    ladies it hr ops admin admins administrator billing accounts account accounting payable
    receivable finance marketing sales purchasing procurement facilities legal security
    operations department dept division office group staff management manager managers
    success technical tech engineering development developers dev devops network networks
    infrastructure it-support web app apps mobile online store shop the my our your this
    ltd limited inc llc llp corp corporation co company gmbh ag sa sas sarl plc bv nv srl
    spa oy ab kg pty holdings solutions systems international global
    windows outlook microsoft google apple excel word teams office chrome firefox safari
    zoom slack adobe reader acrobat android iphone ipad macos linux ubuntu onedrive dropbox
    icloud gmail azure aws amazon salesforce zendesk jira confluence sharepoint skype
    premium pro business enterprise basic standard free trial plus
    again anyway morning afternoon evening day week today everyone's
    mr mrs ms miss mx dr prof also please however thanks thank hello hi regards sorry yes no
    ok okay note ps fyi asap urgent update
    """.split()  # noqa: SIM905
)

_GREETING = re.compile(
    rf"(?m)^[ \t]*(?i:hi|hello|hey|dear|good[ \t]+(?:morning|afternoon|evening)|greetings|hallo|"
    rf"bonjour|hola|ciao)[ \t]+(?:{_TITLE}[ \t]+)?(?P<name>{_NAME})[ \t]*(?:[,!:.\-–—]|$)"
)
_SIGNOFF = re.compile(
    rf"(?m)^[ \t]*(?:(?i:thanks|thank[ \t]+you|many[ \t]+thanks|thanks[ \t]+again|thx|cheers|"
    rf"regards|best[ \t]+regards|kind[ \t]+regards|warm[ \t]+regards|warmest[ \t]+regards|"
    rf"best[ \t]+wishes|best|all[ \t]+the[ \t]+best|sincerely|yours[ \t]+sincerely|"
    rf"yours[ \t]+truly|yours|respectfully|take[ \t]+care|talk[ \t]+soon|br|mfg|"
    rf"viele[ \t]+grüße|liebe[ \t]+grüße|cordialement|saludos|greetings)[ \t]*[,.!]*|--|[-–—])"
    rf"[ \t]*(?:\n[ \t]*)?(?P<name>{_NAME})[ \t]*$"
)
# Any short closing line ("See you,", "Merci,") with a name alone on the line under it.
_VALEDICTION = re.compile(rf"(?m)^[^\n]{{1,30}},[ \t]*\n[ \t]*(?P<name>{_NAME})[ \t]*$")
_INTRODUCTION = re.compile(
    rf"(?:(?i:\bmy[ \t]+name[ \t]+is|\bmy[ \t]+name's|\bname's)[ \t]+(?P<name>{_NAME})"
    rf"|(?i:\bI[ \t]+am|\bI'm|\bI’m|\bthis[ \t]+is)[ \t]+(?P<short>{_NAME})"
    rf"(?=[ \t]*(?:[,.!;)]|$)|[ \t]+(?i:from|here|speaking|and|at|of|with)\b))"
)
_HONORIFIC = re.compile(rf"\b{_TITLE}[ \t]+(?P<name>{_NAME})")
_FIELD_LABELS = (
    r"name|full[ \t]+name|first[ \t]+name|last[ \t]+name|customer[ \t]+name|contact[ \t]+name|"
    r"contact|customer|client|requester|requested[ \t]+by|reported[ \t]+by|submitted[ \t]+by|"
    r"opened[ \t]+by|raised[ \t]+by|caller|account[ \t]+holder|account[ \t]+name|"
    r"card[ \t]*holder|name[ \t]+on[ \t]+card|from|attn|attention|assignee|assigned[ \t]+to|"
    r"user|employee|patient|guest|passenger|recipient"
)
# A field starts a line or a sentence, or, capitalised ("Name:"), follows any word.
_FIELD = re.compile(
    rf"(?m)(?:^[ \t]*|(?<=[.!?][ \t])|(?<=[ \t])(?=[A-Z]))(?i:{_FIELD_LABELS})[ \t]*:[ \t]*"
    rf"(?:{_TITLE}[ \t]+)?(?P<name>{_NAME}|{_SHOUTED_NAME})[ \t]*(?=$|[<(,;.|])"
)


def _is_person(name: str) -> bool:
    words = re.split(r"[ \t]+", name.strip())
    return not any(w.strip(".").casefold() in _NOT_NAMES for w in words)


def _name_before_other_words(text: str, start: int, end: int) -> Span | None:
    """The leading words of ``text[start:end]`` up to the first that names no person."""
    kept = None
    for word in re.finditer(r"\S+", text[start:end]):
        if word.group().strip(".").casefold() in _NOT_NAMES:
            break
        kept = (start, start + word.end())
    return kept


def name_spans(text: str) -> Iterator[Span]:
    for pattern in (_GREETING, _SIGNOFF, _VALEDICTION, _INTRODUCTION, _FIELD):
        for m in pattern.finditer(text):
            group = "name" if m.group("name") else "short"
            if _is_person(m.group(group)):
                yield m.span(group)
    for m in _HONORIFIC.finditer(text):
        # In "2938 Franklin Dr" the "Dr" ends a street.
        if re.search(rf"\d[ \t]+(?:[{_UPPER}][{_LOWER}]+[ \t]+)+$", text[: m.start()]):
            continue
        span = _name_before_other_words(text, *m.span("name"))
        if span:
            yield span


# Addresses ----------------------------------------------------------------------------

_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Cres|"
    r"Close|Walk|Grove|Gardens|Row|Mews|Parade|Rise|Loop|Alley|Plaza|Pike|Expressway"
)
# Words before a street type that make it a drive, a menu or a product instead.
_NOT_STREET_WORDS = frozenset(
    """
    google shared network usb hard external flash one team my cloud solid optical thumb pen
    disk disc ssd local mapped removable virtual boot system backup test click select press
    tap open choose enter hit go the a an and or of in on for to
    """.split()  # noqa: SIM905
)
_STREET_WORD = rf"(?:[{_UPPER}][{_LOWER}]*(?:['’]s)?\.?|\d+(?:st|nd|rd|th))"
_UNIT = (
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Bldg|Building)\.?[ \t]*#?[\w-]+"
    r"|#[ \t]?\w+"
)
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"
_US_ZIP = r"\d{5}(?:-\d{4})?"
_CITY = rf"{_CAP}+(?:[ \t-](?:am|an|upon|on|le|la|de|{_CAP}+)){{0,3}}"
_STREET_ADDRESS = re.compile(
    rf"(?:(?:Flat|Apartment|Apt|Unit|Suite)[ \t]+\w+,?[ \t]+)?"
    rf"\b(?P<number>\d{{1,5}}[A-Za-z]?)[ \t]+(?P<street>(?:{_STREET_WORD}[ \t]+){{1,4}})"
    rf"(?:{_STREET_TYPES})\b\.?(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    rf"(?:,?[ \t]+(?:{_UNIT}))?"
    rf"(?:,[ \t]*{_CITY}(?:,?[ \t]+(?:[A-Z]{{2}}[ \t]+{_US_ZIP}|{_UK_POSTCODE}))?)?"
)
_DE_STREET = (
    rf"(?:{_CAP}+[ \t-])?[{_UPPER}][{_LOWER}]*(?:straße|strasse|str\.|weg|allee|platz|gasse)"
    rf"|{_CAP}+[ \t-](?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse)"
    rf"|(?:Am|An[ \t]+der|Im|In[ \t]+der|Auf[ \t]+dem|Zum|Zur|Unter[ \t]+den)[ \t]+{_CAP}+"
)
_DE_WITH_POSTCODE = (
    rf"[{_UPPER}][{_LOWER}]*(?:ring|damm|ufer|markt|chaussee|steig|pfad|Ring|Damm|Ufer|Markt)"
)
_DE_TAIL = rf",?[ \t]*(?:D-)?\d{{5}}[ \t]+{_CITY}"
_DE_ADDRESS = re.compile(
    rf"\b(?:(?:{_DE_STREET})[ \t]+\d{{1,4}}[a-z]?\b(?:{_DE_TAIL})?"
    rf"|(?:{_DE_WITH_POSTCODE})[ \t]+\d{{1,4}}[a-z]?{_DE_TAIL})"
)
# After "address:" or "ship to", a street and a house number are enough.
_ADDRESS_CUE = re.compile(
    rf"(?i:\baddress|\bship(?:ped)?[ \t]+(?:it[ \t]+)?to|\bdeliver(?:ed)?[ \t]+(?:it[ \t]+)?to|"
    rf"\blive[ \t]+at|\bmoved[ \t]+to|\blocated[ \t]+at|\banschrift|\badresse)"
    rf"(?:[ \t]+is|[ \t]*[:-])?[ \t]*"
    rf"(?P<address>(?:{_CAP}+[ \t-]){{0,2}}{_CAP}+\.?[ \t]+\d{{1,4}}[a-z]?\b"
    rf"(?:{_DE_TAIL})?)"
)
_POSTCODE = re.compile(
    rf"(?i:\bzip(?:[ \t]*code)?|\bpost[ \t]*code|\bpostal[ \t]+code|\bplz|\bpostleitzahl)"
    rf"(?:[ \t]+is|[ \t]*[:#-])?[ \t]*(?P<code>{_US_ZIP}|{_UK_POSTCODE})(?![\w-])"
)


def address_spans(text: str) -> Iterator[Span]:
    for m in _STREET_ADDRESS.finditer(text):
        words = m.group("street").split()
        if any(w.strip(".").casefold() in _NOT_STREET_WORDS for w in words):
            continue
        yield m.span()
    for m in _DE_ADDRESS.finditer(text):
        yield m.span()
    for m in _ADDRESS_CUE.finditer(text):
        yield m.span("address")
    for m in _POSTCODE.finditer(text):
        yield m.span("code")
