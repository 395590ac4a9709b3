"""A labelled corpus of support messages for the PII benchmark, generated from a seed.

    python -m bench.pii_corpus [--seed N] [--part tune|test] [--per-category N]

Each message embeds one personal identifier (its character span labelled with a category
and a subtype) and a look-alike that must survive scrubbing (order and tracking numbers,
prices, product, error and ticket codes, dates, versions, serials, IMEIs, team names
after a greeting, "2 Google Drive folders", ...). Most messages also open and close with
a greeting or a sign-off, some of which carry a name and are labelled as such.

The two parts share no sentence frame, name, street, city or look-alike template: every
pool below is dealt alternately into "tune" (to develop rules on) and "test" (to report
on). Random values (numbers, check digits) come from the seed. Nothing is read from
outside the repository.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import phonenumbers
from stdnum import iban, luhn

PARTS = ("tune", "test")
CATEGORIES = ("email", "phone", "card", "iban", "ssn", "ip", "name", "address")
STRUCTURED = ("email", "phone", "card", "iban", "ssn", "ip")


@dataclass(frozen=True)
class Label:
    start: int
    end: int
    category: str  # a PII category, or the look-alike's kind
    subtype: str = ""


@dataclass(frozen=True)
class Message:
    text: str
    pii: tuple[Label, ...]
    lookalikes: tuple[Label, ...]


# Pools. `_deal` gives "tune" the even entries and "test" the odd ones.
# fmt: off
FIRST = [
    "Maria", "John", "Aisha", "Wei", "Priya", "Jürgen", "José", "Siobhan", "Olumide", "Fatima",
    "Lukas", "Chloé", "Hiroshi", "Anna", "Mohammed", "Sarah", "Pierre", "Ngozi", "Rahul", "Emily",
    "Björn", "Lucía", "Tomasz", "Grace", "Kenji", "Amélie", "David", "Zainab", "Marco", "Ingrid",
    "Carlos", "Mei", "Oliver", "Ananya", "Felix", "Rosa", "Daniel", "Yuki", "Hannah", "Arjun",
    "Sophie", "Kwame", "Elena", "Liam", "Nadia", "Stefan", "Isabel", "Chen",
]
LAST = [
    "Smith", "García", "Müller", "O'Brien", "McDonald", "Nguyen", "Patel", "van der Berg",
    "Kowalski", "Dubois", "Okafor", "Schmidt", "Rossi", "Johansson", "Singh", "Fernández", "Wagner",
    "Tanaka", "Murphy", "Nowak", "Lefèvre", "Adeyemi", "Becker", "Kumar", "Thompson", "de la Cruz",
    "Hoffmann", "Sato", "Walsh", "MacLeod", "Bianchi", "Zhang", "Martin", "Iyer", "Schneider-Weber",
    "Hughes", "Moreau", "Chatterjee", "Lindqvist", "Mensah", "Russo", "Petrov", "Kim", "Fischer",
    "D'Angelo", "Novak", "Reddy", "Brown",
]
TITLES = [
    "Mr.", "Ms.", "Mrs.", "Dr.", "Mr", "Ms",
]
DOMAINS = [
    "gmail.com", "outlook.com", "contoso.com", "example.co.uk", "web.de", "orange.fr",
    "yahoo.co.in", "mail.northwind.io", "fabrikam.org", "t-online.de", "icloud.com",
    "acme-corp.net", "protonmail.ch", "university.edu",
]
US_STREETS = [
    "Elm", "Oak", "Maple", "Pine", "Cedar", "Washington", "Lake", "Hill", "Sunset", "Park",
    "Lincoln", "Martin Luther King Jr", "Jefferson", "Highland", "Willow Creek", "Main", "Church",
    "River", "Spring Valley", "Franklin",
]
US_TYPES = [
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln", "Drive", "Dr",
    "Court", "Ct", "Way", "Place", "Pl", "Terrace", "Parkway", "Circle",
]
US_CITIES = [
    ("Springfield", "IL", "62704"), ("Austin", "TX", "78701"), ("San Francisco", "CA", "94107"),
    ("Portland", "OR", "97205"), ("Boston", "MA", "02118"), ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"), ("Miami", "FL", "33131"), ("Chicago", "IL", "60614"),
    ("Raleigh", "NC", "27601"), ("Phoenix", "AZ", "85004"), ("Columbus", "OH", "43215"),
]
US_UNITS = [
    "Apt 4B", "Suite 200", "Unit 12", "#305", "Apt. 7", "Ste 110",
]
UK_STREETS = [
    "Baker Street", "High Road", "Church Lane", "Station Road", "Victoria Avenue", "Queen's Drive",
    "Mill Lane", "Albert Road", "Park Crescent", "Kings Road", "Green Lane", "Manor Way",
    "London Road", "Orchard Close", "Riverside Walk", "St John's Street",
]
UK_CITIES = [
    ("London", "NW1 6XE"), ("Leeds", "LS1 4AP"), ("Oxford", "OX1 2JD"), ("Manchester", "M1 1AE"),
    ("Bristol", "BS1 5TR"), ("Glasgow", "G2 3BZ"), ("Cardiff", "CF10 1EP"),
    ("Birmingham", "B3 2DT"), ("Edinburgh", "EH1 1YZ"), ("London", "SW1A 2AA"),
    ("Brighton", "BN1 1AE"), ("Norwich", "NR2 4SQ"),
]
DE_STREETS = [
    "Hauptstraße", "Bahnhofstr.", "Lindenweg", "Goethestraße", "Schillerplatz", "Friedrichstraße",
    "Berliner Allee", "Am Markt", "Rosengasse", "Kirchstr.", "Parkring", "Uferstraße", "Mozartweg",
    "Schlossallee", "Bergstraße", "Am Mühlbach",
]
DE_CITIES = [
    ("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("04109", "Leipzig"),
    ("20095", "Hamburg"), ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"),
    ("01067", "Dresden"), ("90402", "Nürnberg"), ("28195", "Bremen"), ("30159", "Hannover"),
    ("69117", "Heidelberg"),
]
FRAMES = [
    "{G}{X} {L}{S}", "{G}I need help with my account. {X} {L}{S}", "{G}{L} {X}{S}",
    "{G}Quick question about billing. {X} Also, {L}{S}", "{G}{X}\n\n{L}{S}",
    "{G}Following up on my earlier message. {L} {X}{S}",
    "{G}The app keeps logging me out. {X} {L}{S}", "{G}{L}\n{X}{S}",
    "{G}Sorry to bother you again. {X} For reference, {L}{S}",
    "{G}I spoke to someone on chat yesterday. {L} {X} Thanks in advance.{S}",
]
# A PII phrase: the identifier "{v}" inside the words a customer would put around it.
PHRASES: dict[str, list[str]] = {
    "email": [
        "You can reach me at {v}.", "Please send the invoice to {v} instead.",
        "My login email is {v}", "Email: {v}", "I changed my address to <{v}> last week.",
        "(my work address is {v})", "Reply to {v} please.",
        "The account is under {v}, not the old one.",
    ],
    "card": [
        "Please charge the card {v} instead.", "My Visa is {v}, expiry 09/27.", "Card number: {v}",
        "It was billed to {v} twice.", "I updated it to {v} but it still fails.",
        "The new card ({v}) was declined.", "Use {v} for the renewal.", "card no. {v} exp 11/26",
    ],
    "iban": [
        "Please refund to IBAN {v}.", "My bank account is {v}.", "IBAN: {v}",
        "Send the money back to {v} please.", "The direct debit should use {v} from now on.",
        "Kontonummer (IBAN) {v}", "Refund account: {v}",
        "You have the old IBAN, the new one is {v}.",
    ],
    "ip": [
        "My IP address is {v}.", "The login attempts came from {v}.", "Server: {v}",
        "I'm connecting from {v} at home.", "The firewall blocks {v} for some reason.",
        "whitelist {v} please", "ping {v} times out", "The VPN assigns me {v}.",
    ],
}
PHONE_PHRASES = {
    "formatted": [
        "Please call me on {v}.", "My phone number is {v}", "You can reach me at {v} after 5pm.",
        "Phone: {v}", "Call back on {v} please.", "Mobile {v}", "or ring {v} during the day",
        "Tel. {v}", "Text me at {v} when it ships.", "my number: {v}", "I'm on {v} all day.",
        "Contact number {v}",
    ],
    "bare": [
        "my number is {v}", "Call me on {v}.", "My mobile is {v}", "phone: {v}",
        "You can reach me on {v}.", "my cell {v}", "WhatsApp me at {v}", "contact number is {v}",
        "Please text {v} instead.", "my phone number: {v}", "ring me back on {v}",
        "best number to call is {v}",
    ],
}
SSN_PHRASES = {
    "dashed": [
        "My SSN is {v}.", "Social security number: {v}", "for the tax form: {v}", "SSN {v}",
        "the W-9 has {v} on it", "ssn: {v}",
    ],
    "bare": [
        "My SSN is {v}.", "social security number {v}", "SSN: {v}", "My social security no. is {v}",
        "ssn#{v}", "Social Security Number - {v}",
    ],
    "spaced": [
        "SSN: {v}", "my social security number is {v}", "SSN {v}", "SSN (for the 1099): {v}",
    ],
}
NAME_PHRASES = {
    "greeting": [
        "Hi {first},\n\n", "Hello {first} {last},\n\n", "Dear {title} {last},\n\n",
        "Dear {first} {last},\n\n", "Hey {first}!\n", "Good morning {first},\n\n", "Hi {first} -\n",
        "Hello {title} {last},\n\n", "Dear {first},\n\n", "Hi {first} {last},\n",
    ],
    "signoff": [
        "\n\nThanks,\n{first} {last}", "\n\nBest regards,\n{first}", "\nThanks, {first} {last}",
        "\n\nCheers,\n{first}", "\n\nKind regards\n{first} {last}\nContoso Ltd",
        "\n\nRegards,\n{first} {last}", "\n\nMany thanks,\n{first}", "\n\nBest,\n{first} {last}",
        "\n\nSincerely,\n{first} {last}", "\n\nThank you!\n{first}", "\n\n-- \n{first} {last}",
        "\n\nWarm regards, {first}",
    ],
    "self_intro": [
        "My name is {first} {last} and I own this account.", "my name is {first} {last}.",
        "I'm {first} from the finance team.", "This is {first} {last} from Fabrikam.",
        "I am {first} {last}, the account holder.", "Hello, my name's {first}.",
        "This is {first} here, we spoke on Monday.", "My name is {first}.",
        "I'm {first} {last} and I manage our subscription.", "Name's {first} {last}.",
    ],
    "field": [
        "Name: {first} {last}\n", "Customer name: {first} {last}\n", "Full name: {first} {last}\n",
        "Requested by: {first} {last}\n", "Contact: {first} {last}\n",
        "Cardholder: {FIRST} {LAST}\n", "Account holder: {first} {last}\n",
        "Reported by: {first} {last}\n", "Name on card: {FIRST} {LAST}\n",
        "Caller: {first} {last}\n",
    ],
    "honorific": [
        "Please pass this on to {title} {last}.", "{title} {last} from our office called you.",
        "I spoke with {title} {last} last week.", "cc {title} {last}",
    ],
}
ADDRESS_PHRASES = [
    "Please ship the replacement to {v}.", "My address is {v}", "Address: {v}",
    "I moved to {v} last month.", "Send the invoice to {v} please.",
    "The billing address should be {v}.", "Delivery address: {v}", "We are at {v} now.",
    "New address - {v}", "the shipping address on file is wrong, it is {v}.",
]
POSTCODE_PHRASES = {
    "us": [
        "My zip code is {v}.", "ZIP: {v}", "zip {v}", "the form rejects zip code {v}",
    ],
    "uk": [
        "My postcode is {v}.", "Postcode: {v}", "post code {v}", "postal code {v} is valid",
    ],
    "de": [
        "PLZ {v}", "Postleitzahl: {v}", "my postal code is {v}", "Postcode {v}",
    ],
}
# Greetings and sign-offs without a name, and look-alikes of names in those places.
PLAIN_GREETINGS = [
    "Hi,\n\n", "Hello,\n\n", "Hi there,\n", "Good afternoon,\n\n", "", "",
]
PLAIN_SIGNOFFS = [
    "\n\nThanks!", "\n\nThank you.", "", "\n\nRegards", "\n\nThanks in advance", "",
]
NAME_LOOKALIKE_GREETINGS = [
    "Hi {v},\n\n", "Hello {v},\n\n", "Dear {v},\n\n", "Hi {v}!\n", "Good morning {v},\n\n",
    "Hey {v},\n",
]
NAME_LOOKALIKE_GREETING_WORDS = [
    "team", "Support", "Customer Service", "all", "Support Team", "everyone", "IT", "Billing",
    "Acme Support", "Sir or Madam", "Helpdesk", "Accounts Team", "Admin", "Service Desk", "Sales",
    "Tech Support", "Microsoft Support", "Zendesk Team",
]
NAME_LOOKALIKE_SIGNOFFS = [
    "\n\nThanks,\n{v}", "\n\nRegards,\n{v}", "\n\nBest,\n{v}", "\n\nCheers, {v}",
    "\n\nKind regards,\n{v}", "\nThanks, {v}",
]
NAME_LOOKALIKE_SIGNOFF_WORDS = [
    "The Billing Team", "IT Helpdesk", "Acme Support", "Accounts Payable", "The Ops Team",
    "Facilities", "Finance Department", "Contoso IT", "Marketing", "Customer Success Team",
    "Northwind Purchasing", "HR",
]
# fmt: on


def _deal(pool: Sequence, part: str) -> list:
    return list(pool[PARTS.index(part) :: 2])


# Values -------------------------------------------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _luhn_complete(body: str) -> str:
    return body + luhn.calc_check_digit(body)


CARD_PREFIXES = {
    "visa": (["4"], 16),
    "mastercard": (["51", "52", "53", "54", "55", "2221", "2720", "23"], 16),
    "amex": (["34", "37"], 15),
    "discover": (["6011", "65"], 16),
}


def card_number(rng: random.Random) -> tuple[str, str]:
    network = rng.choice(sorted(CARD_PREFIXES))
    prefixes, length = CARD_PREFIXES[network]
    prefix = rng.choice(prefixes)
    return network, _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))


def format_card(digits: str, style: str) -> str:
    groups = [4, 6, 5] if len(digits) == 15 else [4, 4, 4, 4]
    parts, i = [], 0
    for g in groups:
        parts.append(digits[i : i + g])
        i += g
    sep = {"plain": "", "spaces": " ", "dashes": "-", "dots": "."}[style]
    return sep.join(parts)


IBAN_FORMATS = {  # country: BBAN as (kind, length) pieces; kind "n" digits, "a" letters, "c" either
    "DE": [("n", 18)],
    "GB": [("a", 4), ("n", 14)],
    "FR": [("n", 10), ("c", 11), ("n", 2)],
    "NL": [("a", 4), ("n", 10)],
    "ES": [("n", 20)],
    "IT": [("a", 1), ("n", 10), ("c", 12)],
    "AT": [("n", 16)],
    "BE": [("n", 12)],
}


def iban_number(rng: random.Random) -> str:
    country = rng.choice(sorted(IBAN_FORMATS))
    alphabet = {"n": string.digits, "a": string.ascii_uppercase}
    alphabet["c"] = string.digits + string.ascii_uppercase
    while True:  # some countries add a national check digit: draw until it holds
        bban = "".join(
            rng.choice(alphabet[kind]) for kind, n in IBAN_FORMATS[country] for _ in range(n)
        )
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        if iban.is_valid(number):
            return number


def format_iban(number: str, rng: random.Random) -> str:
    if rng.random() < 0.6:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def ssn_number(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


PHONE_AREAS = {"US": ["212", "305", "312", "415", "503", "617", "702", "713", "919", "206"]}
PHONE_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)


def phone_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A valid number for ``region``: an example number with its last digits drawn anew."""
    kind = rng.choice(PHONE_TYPES)
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    while True:
        keep = rng.randint(2, 4)
        candidate = national[:keep] + _digits(rng, len(national) - keep)
        if region == "US":
            candidate = rng.choice(PHONE_AREAS["US"]) + candidate[3:]
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number_for_region(number, region):
            return number


def format_phone(number: phonenumbers.PhoneNumber, region: str, rng: random.Random) -> str:
    fmt = phonenumbers.PhoneNumberFormat
    style = rng.choice(["national", "national", "international", "international", "variant"])
    if style == "national":
        return phonenumbers.format_number(number, fmt.NATIONAL)
    text = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    if style == "international":
        return text
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    return {
        "US": national.replace("(", "").replace(") ", "-"),
        "GB": text.replace("+44 ", "+44 (0)"),
        "DE": text.replace("+49 ", "+49 (0)"),
        "FR": national.replace(" ", "."),
        "IN": text.replace(" ", "-"),
    }[region]


def bare_phone(number: phonenumbers.PhoneNumber, region: str) -> str:
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = re.sub(r"\D", "", national)
    return digits if region != "US" else digits[-10:]


def ipv4(rng: random.Random) -> str:
    first = rng.choice([10, 172, 192, 81, 203, 62, 98, 145])
    return ".".join(
        str(x) for x in (first, rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    )


def ipv6(rng: random.Random) -> str:
    import ipaddress

    groups = [rng.choice(["2001", "2a02", "2604", "fe80"])] + [
        f"{rng.randint(0, 0xFFFF):x}" if rng.random() < 0.6 else "0" for _ in range(7)
    ]
    address = ipaddress.IPv6Address(":".join(groups))
    return address.compressed if rng.random() < 0.7 else address.exploded


# Look-alikes: (kind, template with the value as {v}, value maker) ---------------------


def _ean13(rng: random.Random) -> str:
    body = rng.choice(["400", "401", "402", "403", "404", "405", "406", "440"]) + _digits(rng, 9)
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _imei(rng: random.Random) -> str:
    return _luhn_complete(rng.choice(["35", "86", "01", "99"]) + _digits(rng, 12))


def _grouped(digits: str, size: int) -> str:
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))


def _ups(rng: random.Random) -> str:
    return (
        "1Z"
        + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        + _digits(rng, 10)
    )


def _phone_shaped(rng: random.Random) -> str:
    return rng.choice(PHONE_AREAS["US"]) + str(rng.randint(200, 999)) + _digits(rng, 4)


def _timestamp(rng: random.Random) -> str:
    day = f"{rng.randint(2020, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _version_ipv4_shaped(rng: random.Random) -> str:
    return f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 255)}"


LOOKALIKES: list[tuple[str, str, Callable[[random.Random], str]]] = [
    ("order", "My order {v} still hasn't shipped.", lambda r: _phone_shaped(r)),
    ("order", "Order #{v} arrived damaged.", lambda r: _digits(r, 9)),
    ("order", "Can you call me about order {v}?", lambda r: _phone_shaped(r)),
    (
        "order",
        "order no. {v} was charged twice",
        lambda r: f"{r.randint(2019, 2025)}-{_digits(r, 6)}",
    ),
    (
        "tracking",
        "The tracking number {v} shows no movement.",
        lambda r: _grouped("9400" + _digits(r, 18), 4),
    ),
    ("tracking", "UPS tracking {v} says delivered.", _ups),
    ("tracking", "FedEx {v} has been stuck for days.", lambda r: _grouped(_digits(r, 12), 4)),
    ("tracking", "DHL waybill {v} is not found.", lambda r: _digits(r, 10)),
    (
        "price",
        "I was charged {v} instead of the quoted amount.",
        lambda r: f"${r.randint(1, 9)},{_digits(r, 3)}.{_digits(r, 2)}",
    ),
    (
        "price",
        "The renewal was {v} this year.",
        lambda r: f"{r.randint(1, 9)}.{_digits(r, 3)},{_digits(r, 2)} €",
    ),
    (
        "price",
        "Le total était de {v}.",
        lambda r: f"{r.randint(1, 9)} {_digits(r, 3)},{_digits(r, 2)} €",
    ),
    ("price", "the annual plan costs {v}", lambda r: f"£{r.randint(100, 999)}.{_digits(r, 2)}"),
    ("product_code", "The barcode on the box is {v}.", _ean13),
    ("product_code", "SKU {v} is out of stock.", _ean13),
    (
        "product_code",
        "Part number {v} doesn't fit.",
        lambda r: f"{_digits(r, 3)}-{_digits(r, 4)}-{_digits(r, 2)}",
    ),
    (
        "product_code",
        "model {v} keeps overheating",
        lambda r: f"XPS-{r.randint(13, 17)}-{_digits(r, 4)}",
    ),
    ("error_code", "It fails with error {v}.", lambda r: f"E-{r.randint(1000, 9999)}"),
    (
        "error_code",
        "Windows Update says {v}.",
        lambda r: f"0x800{r.choice(['70005', 'F081F', '73712', '24001'])}",
    ),
    ("error_code", "I get Event ID {v} in the log.", lambda r: str(r.randint(1000, 9999))),
    (
        "error_code",
        "The printer shows code {v}.",
        lambda r: f"{r.randint(10, 99)}.{r.randint(10, 99)}.{r.randint(10, 99)}",
    ),
    (
        "date",
        "It started on {v}.",
        lambda r: f"{r.randint(2020, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    ),
    (
        "date",
        "The last backup ran on {v}.",
        lambda r: f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2020, 2025)}",
    ),
    (
        "date",
        "My contract ends {v}.",
        lambda r: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2024, 2027)}",
    ),
    (
        "date",
        "the log shows {v} as the last sync",
        _timestamp,
    ),
    (
        "version",
        "I'm on version {v}.",
        lambda r: f"10.0.{r.randint(19041, 22631)}.{r.randint(100, 4000)}",
    ),
    ("version", "The firmware is {v}.", _version_ipv4_shaped),
    (
        "version",
        "After updating to {v} it broke.",
        lambda r: f"v{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
    ),
    ("version", "Driver version {v} is installed.", _version_ipv4_shaped),
    (
        "serial",
        "The serial number is {v}.",
        lambda r: "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(10)),
    ),
    ("serial", "S/N {v}", lambda r: _digits(r, 10)),
    ("serial", "IMEI {v}", _imei),
    ("serial", "The device IMEI is {v}.", _imei),
    ("ticket", "This is about ticket {v}.", lambda r: f"INC{_digits(r, 7)}"),
    (
        "ticket",
        "Case {v} was closed without a reply.",
        lambda r: f"CS-{r.randint(2020, 2025)}-{_digits(r, 6)}",
    ),
    ("ticket", "Invoice {v} is wrong.", lambda r: f"INV-{r.randint(2020, 2025)}-{_digits(r, 6)}"),
    ("ticket", "see KB{v}", lambda r: _digits(r, 7)),
    ("account", "My customer ID is {v}.", lambda r: _phone_shaped(r)),
    ("account", "Account {v} was suspended.", lambda r: _digits(r, 10)),
    ("account", "The routing number is {v}.", lambda r: "0" + _digits(r, 8)),
    ("account", "membership no. {v}", lambda r: _digits(r, 9)),
    (
        "network",
        "The MAC address is {v}.",
        lambda r: ":".join(f"{r.randint(0, 255):02X}" for _ in range(6)),
    ),
    ("network", "it runs on port {v}", lambda r: str(r.choice([8080, 8443, 3389, 5432]))),
    (
        "time",
        "The outage was at {v}.",
        lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    ),
    ("quantity", "We have {v} seats on the plan.", lambda r: f"{r.randint(1, 9)},{_digits(r, 3)}"),
    (
        "email_like",
        "The logo file is {v}.",
        lambda r: f"{r.choice(['logo', 'icon', 'banner'])}@2x.png",
    ),
    ("email_like", "We pinned {v} in package.json.", lambda r: f"lodash@4.17.{r.randint(10, 21)}"),
    (
        "address_like",
        "I have {v} folders that won't sync.",
        lambda r: f"{r.randint(2, 9)} Google Drive",
    ),
    (
        "address_like",
        "We mapped {v} letters on each laptop.",
        lambda r: f"{r.randint(2, 5)} Network Drive",
    ),
    ("address_like", "My {v} keep disconnecting.", lambda r: f"{r.randint(2, 4)} USB Drive"),
    ("address_like", "the zip had {v} files in it", lambda r: str(r.randint(10000, 99999))),
    ("address_like", "In step {v} and confirm.", lambda r: f"{r.randint(2, 6)} Click Place Order"),
    (
        "address_like",
        "We're still on the {v} release.",
        lambda r: f"Spring {r.randint(2019, 2025)}",
    ),
    (
        "name_like",
        "This is {v}, not the web app.",
        lambda r: r.choice(["Outlook", "Microsoft Teams", "Google Chrome", "Adobe Reader"]),
    ),
    (
        "name_like",
        "I'm {v} user since 2019.",
        lambda r: r.choice(["Premium", "an Enterprise", "a Pro", "Business"]),
    ),
]


# Building -----------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.text = ""
        self.pii: list[Label] = []
        self.lookalikes: list[Label] = []

    def add(self, piece: str) -> None:
        self.text += piece

    def add_labelled(
        self, template: str, values: dict[str, str], sink: list[Label], label: tuple
    ) -> None:
        """Append ``template`` with ``values`` filled in; label each filled-in value."""
        for piece in re.split(r"(\{\w+\})", template):
            key = piece[1:-1] if piece.startswith("{") else None
            if key is None:
                self.add(piece)
                continue
            value = values[key]
            start = len(self.text)
            self.add(value)
            if key not in ("title",):
                sink.append(Label(start, len(self.text), *label))

    def message(self) -> Message:
        return Message(self.text, tuple(self.pii), tuple(self.lookalikes))


def _join_names(labels: list[Label], text: str) -> list[Label]:
    """Adjacent first and last name labels become one label for the whole name."""
    merged: list[Label] = []
    for label in labels:
        last = merged[-1] if merged else None
        if (
            last
            and last.category == "name"
            and label.category == "name"
            and text[last.end : label.start] == " "
        ):
            merged[-1] = Label(last.start, label.end, "name", last.subtype)
        else:
            merged.append(label)
    return merged


class _Corpus:
    def __init__(self, seed: int, part: str) -> None:
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}")
        self.rng = random.Random(f"{seed}-{part}")
        self.part = part
        self.pools = {
            name: _deal(pool, part)
            for name, pool in {
                "first": FIRST,
                "last": LAST,
                "title": TITLES,
                "domain": DOMAINS,
                "frames": FRAMES,
                "us_streets": US_STREETS,
                "us_cities": US_CITIES,
                "us_units": US_UNITS,
                "uk_streets": UK_STREETS,
                "uk_cities": UK_CITIES,
                "de_streets": DE_STREETS,
                "de_cities": DE_CITIES,
                "address": ADDRESS_PHRASES,
                "lookalikes": LOOKALIKES,
                "greet_words": NAME_LOOKALIKE_GREETING_WORDS,
                "signoff_words": NAME_LOOKALIKE_SIGNOFF_WORDS,
            }.items()
        }
        self.pools["us_types"] = US_TYPES  # every type in both parts: rules must know them all
        for category, phrases in PHRASES.items():
            self.pools[category] = _deal(phrases, part)

    def pick(self, pool: str):
        return self.rng.choice(self.pools[pool])

    def phrase(self, phrases: Sequence[str]) -> str:
        return self.rng.choice(_deal(phrases, self.part))

    # One identifier as (phrase template, values, subtype)

    def person(self) -> dict[str, str]:
        first, last = self.pick("first"), self.pick("last")
        return {
            "first": first,
            "last": last,
            "title": self.pick("title"),
            "FIRST": first.upper(),
            "LAST": last.upper(),
        }

    def email(self, subtype: str) -> tuple[str, dict, str]:
        p = self.person()
        local = self.rng.choice(
            [
                f"{p['first']}.{p['last']}",
                f"{p['first'][0]}{p['last']}",
                f"{p['first']}{self.rng.randint(1, 99)}",
                f"{p['first']}.{p['last']}+support",
                f"{p['last']}_{p['first'][0]}",
            ]
        )
        local = re.sub(r"[^A-Za-z0-9._+]", "", local.encode("ascii", "ignore").decode()).lower()
        value = f"{local}@{self.pick('domain')}"
        if self.rng.random() < 0.1:
            value = value.upper()
        return self.pick("email"), {"v": value}, "address"

    def phone(self, subtype: str) -> tuple[str, dict, str]:
        region = subtype.split("_")[0]
        number = phone_number(self.rng, region)
        if subtype.endswith("bare"):
            return self.phrase(PHONE_PHRASES["bare"]), {"v": bare_phone(number, region)}, subtype
        return (
            self.phrase(PHONE_PHRASES["formatted"]),
            {"v": format_phone(number, region, self.rng)},
            subtype,
        )

    def card(self, subtype: str) -> tuple[str, dict, str]:
        _, digits = card_number(self.rng)
        return self.pick("card"), {"v": format_card(digits, subtype)}, subtype

    def iban(self, subtype: str) -> tuple[str, dict, str]:
        value = iban_number(self.rng)
        return self.pick("iban"), {"v": format_iban(value, self.rng)}, value[:2]

    def ssn(self, subtype: str) -> tuple[str, dict, str]:
        d = ssn_number(self.rng)
        value = {
            "dashed": f"{d[:3]}-{d[3:5]}-{d[5:]}",
            "bare": d,
            "spaced": f"{d[:3]} {d[3:5]} {d[5:]}",
        }[subtype]
        return self.phrase(SSN_PHRASES[subtype]), {"v": value}, subtype

    def ip(self, subtype: str) -> tuple[str, dict, str]:
        value = ipv4(self.rng) if subtype == "v4" else ipv6(self.rng)
        return self.pick("ip"), {"v": value}, subtype

    def address(self, subtype: str) -> tuple[str, dict, str]:
        r = self.rng
        if subtype == "us":
            city, state, zipcode = self.pick("us_cities")
            street = f"{r.randint(1, 9999)} {self.pick('us_streets')} {self.pick('us_types')}"
            if r.random() < 0.4:
                street += (
                    f" {self.pick('us_units')}"
                    if r.random() < 0.5
                    else f", {self.pick('us_units')}"
                )
            value = r.choice(
                [
                    f"{street}, {city}, {state} {zipcode}",
                    f"{street}, {city} {state} {zipcode}",
                    street,
                ]
            )
        elif subtype == "uk":
            city, postcode = self.pick("uk_cities")
            number = f"{r.randint(1, 300)}{r.choice(['', '', '', 'A', 'B'])}"
            street = f"{number} {self.pick('uk_streets')}"
            if r.random() < 0.3:
                street = f"Flat {r.randint(1, 20)}, {street}"
            value = r.choice(
                [
                    f"{street}, {city} {postcode}",
                    f"{street}, {city}, {postcode}",
                    f"{street}, {city}",
                ]
            )
        elif subtype == "de":
            postal, city = self.pick("de_cities")
            street = f"{self.pick('de_streets')} {r.randint(1, 200)}{r.choice(['', '', 'a', 'b'])}"
            value = r.choice([f"{street}, {postal} {city}", f"{street}, D-{postal} {city}", street])
        else:
            region = subtype.split("_")[1]
            value = {
                "us": lambda: self.pick("us_cities")[2],
                "uk": lambda: self.pick("uk_cities")[1],
                "de": lambda: self.pick("de_cities")[0],
            }[region]()
            return self.phrase(POSTCODE_PHRASES[region]), {"v": value}, subtype
        return self.pick("address"), {"v": value}, subtype

    # Whole messages

    def lookalike(self, b: _Builder) -> None:
        kind, template, make = self.pick("lookalikes")
        if b.text.endswith(", ") and template[1:2].islower():
            template = template[0].lower() + template[1:]
        b.add_labelled(template, {"v": make(self.rng)}, b.lookalikes, (kind,))

    def greeting(self, b: _Builder, with_name: bool) -> None:
        if with_name:
            template = self.phrase(NAME_PHRASES["greeting"])
            b.add_labelled(template, self.person(), b.pii, ("name", "greeting"))
        elif self.rng.random() < 0.35:
            template = self.rng.choice(NAME_LOOKALIKE_GREETINGS)
            b.add_labelled(template, {"v": self.pick("greet_words")}, b.lookalikes, ("name_like",))
        else:
            b.add(self.rng.choice(PLAIN_GREETINGS))

    def signoff(self, b: _Builder, with_name: bool) -> None:
        if with_name:
            template = self.phrase(NAME_PHRASES["signoff"])
            b.add_labelled(template, self.person(), b.pii, ("name", "signoff"))
        elif self.rng.random() < 0.35:
            template = self.rng.choice(NAME_LOOKALIKE_SIGNOFFS)
            b.add_labelled(
                template, {"v": self.pick("signoff_words")}, b.lookalikes, ("name_like",)
            )
        else:
            b.add(self.rng.choice(PLAIN_SIGNOFFS))

    def message(self, category: str, subtype: str) -> Message:
        b = _Builder()
        frame = self.pick("frames")
        if category == "name":
            template, values = self.phrase(NAME_PHRASES[subtype]), self.person()
        else:
            template, values, subtype = getattr(self, category)(subtype)
        for piece in re.split(r"(\{[GXLS]\})", frame):
            if piece == "{G}":
                self.greeting(b, with_name=subtype == "greeting")
            elif piece == "{S}":
                self.signoff(b, with_name=subtype == "signoff")
            elif piece == "{X}":
                if subtype not in ("greeting", "signoff"):
                    b.add_labelled(template, values, b.pii, (category, subtype))
                else:
                    b.add("Could you look into this?")
            elif piece == "{L}":
                self.lookalike(b)
            else:
                b.add(piece)
        message = b.message()
        return Message(message.text.strip("\n"), *_shifted(message))


def _shifted(message: Message) -> tuple[tuple[Label, ...], tuple[Label, ...]]:
    """Labels after the leading newlines are stripped, names merged."""
    lead = len(message.text) - len(message.text.lstrip("\n"))

    def move(labels: Sequence[Label]) -> list[Label]:
        return [Label(x.start - lead, x.end - lead, x.category, x.subtype) for x in labels]

    pii = _join_names(move(message.pii), message.text[lead:])
    return tuple(pii), tuple(move(message.lookalikes))


SUBTYPES: dict[str, tuple[str, ...]] = {
    "email": ("address",),
    "phone": ("US", "GB", "DE", "FR", "IN", "US_bare", "GB_bare", "DE_bare", "FR_bare", "IN_bare"),
    "card": ("plain", "spaces", "dashes", "dots"),
    "iban": ("any",),
    "ssn": ("dashed", "bare", "spaced"),
    "ip": ("v4", "v6"),
    "name": ("greeting", "signoff", "self_intro", "field", "honorific"),
    "address": ("us", "uk", "de", "postcode_us", "postcode_uk", "postcode_de"),
}


def generate(seed: int = 2, part: str = "test", per_category: int = 60) -> list[Message]:
    """``per_category`` messages for each category, subtypes in turn, deterministic in seed."""
    corpus = _Corpus(seed, part)
    messages = []
    for category in CATEGORIES:
        subtypes = SUBTYPES[category]
        for i in range(per_category):
            messages.append(corpus.message(category, subtypes[i % len(subtypes)]))
    return messages


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pii_corpus", description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--part", choices=PARTS, default="test")
    parser.add_argument("--per-category", type=int, default=60)
    args = parser.parse_args(list(argv))
    for message in generate(args.seed, args.part, args.per_category):
        print(json.dumps(asdict(message), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
