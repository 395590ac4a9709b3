"""Tiny corpora for the retrieval tests, written into each test's tmp_path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

REFUND_MD = """\
# Refund policy

Customers can return any unused product within 30 days of delivery.

## Requesting a refund

Open the order page, choose "Return item" and print the prepaid shipping label.
Refunds need the original order number.

## Refund processing time

Once the returned parcel reaches our warehouse, the money is credited back to the
original payment method within 5 to 7 business days.
"""

ROUTER_RST = """\
.. _router-setup:

=============
Router Manual
=============

Connecting to Wi-Fi
===================

Hold the WPS button for three seconds until the blue light blinks, then press WPS
on the client device.

Resetting the router
--------------------

Press and hold the recessed reset pin for ten seconds to restore factory settings.
"""

PRINTER_TXT = (
    "If the printer shows error E04, the paper tray is jammed. Open the rear cover, remove "
    "the crumpled sheet and close the cover firmly.\n"
)

HELP_HTML = """\
<html><head><title>Account Help</title><style>body { color: red }</style>
<script>var trackingSecret = 1;</script></head>
<body><nav>Home | Products | Contact</nav>
<h1>Account help</h1><p>Manage your account from the settings page.</p>
<h2>Changing your password</h2><p>Click <b>Forgot password</b> on the sign-in page and follow
the emailed link.</p>
<h3>Two-factor codes</h3><p>Codes come from the authenticator app.</p>
</body></html>
"""

TICKETS = [
    {
        "ticket_id": "T-1001",
        "subject": "Blender lid cracked",
        "customer_message": "The lid of my blender cracked after two uses.",
        "resolution": "Sent a free replacement lid under warranty.",
        "product": "blender",
        "category": "warranty",
    },
    {
        "ticket_id": "T-1002",
        "subject": "Toaster not heating",
        "customer_message": "My toaster stays cold, the elements never glow.",
        "resolution": "Asked the customer to reset the thermal fuse by unplugging for an hour.",
        "product": "toaster",
        "category": "troubleshooting",
    },
    {
        "ticket_id": "T-1003",
        "subject": "Blender too loud",
        "customer_message": "The blender motor makes a grinding noise at high speed.",
        "resolution": "Motor bearing replaced by the service centre.",
        "product": "blender",
        "category": "repair",
    },
]

PASSAGES = [
    {"pid": "p-001", "doc_title": "Driver licence renewal", "text": "Renew your driver "
     "licence online up to six months before it expires; bring an eye test result."},
    {"pid": "p-002", "doc_title": "Vehicle registration", "text": "Register a newly bought "
     "car within 30 days at any motor vehicle office with proof of insurance."},
]  # fmt: skip


def write_tickets_csv(path: Path, rows: list[dict] = TICKETS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    document = canvas.Canvas(str(path), pagesize=A4)
    document.setTitle("Coffee Machine Guide")
    for text in pages:
        document.drawString(72, 760, text)
        document.showPage()
    document.save()
    return path
