"""Generate corpora/manuals/korvo-cam-quick-start.pdf (the printed Korvo Cam Quick Start Guide).

The PDF is committed to the repository; run this script again only when the text below changes:

    python corpora/tools/make_pdf.py            # needs reportlab (pip install reportlab)

Everything in the guide is fictional and was written for the deskloop sample knowledge base.
The output is deterministic (fixed creation date, no random document id), so regenerating it
without text changes gives an identical file.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

OUT = Path(__file__).resolve().parent.parent / "manuals" / "korvo-cam-quick-start.pdf"

styles = getSampleStyleSheet()
BODY = ParagraphStyle(
    "Body", parent=styles["BodyText"], fontName="Helvetica", fontSize=10, leading=14
)
H1 = ParagraphStyle(
    "H1", parent=styles["Heading1"], fontName="Helvetica-Bold", fontSize=20, spaceAfter=8
)
H2 = ParagraphStyle(
    "H2", parent=styles["Heading2"], fontName="Helvetica-Bold", fontSize=13, spaceBefore=10
)
SMALL = ParagraphStyle("Small", parent=BODY, fontSize=8.5, leading=11)
CENTER = ParagraphStyle("Center", parent=BODY, alignment=TA_CENTER, textColor=colors.grey)


def p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text, style)


ITEM = ParagraphStyle("Item", parent=BODY, leftIndent=14, firstLineIndent=-10, spaceAfter=2)


def bullets(items: list[str], numbered: bool = False) -> list[Paragraph]:
    # Markers are part of the paragraph text (not drawn separately) so that text extraction
    # keeps "1. Open the rubber cover..." on one line.
    marks = [f"{i}." for i in range(1, len(items) + 1)] if numbered else ["-"] * len(items)
    return [p(f"{m} {t}", ITEM) for m, t in zip(marks, items, strict=True)]


def table(rows: list[list[str]], widths: list[float]) -> Table:
    data = [[p(cell, SMALL) for cell in row] for row in rows]
    t = Table(data, colWidths=widths, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def story() -> list:
    s: list = []
    # Page 1: welcome, box contents, the camera, charging
    s += [
        p("Korvo Cam Quick Start Guide", H1),
        p("Model KC-20 &middot; Indoor/outdoor security camera &middot; Guide version 2.1 (2025)"),
        Spacer(1, 6),
        p(
            "Thank you for choosing Korvo Cam. This guide gets your camera charged, connected and "
            "mounted in about 15 minutes. You need the Korvo app (iOS 16 or later, Android 10 or "
            "later), a Korvo account and a 2.4 GHz Wi-Fi network with a WPA2 or WPA2/WPA3 password."
        ),
        p("In the box", H2),
        *bullets(
            [
                "Korvo Cam with built-in 6,500 mAh battery",
                "Wall mount with ball joint, and a magnetic mount",
                "3 screws, 3 wall plugs, anti-theft screw and tool",
                "USB-C cable (1.5 m) and drilling template",
            ]
        ),
        p("A power adapter is not included. Use any 5 V / 2 A USB adapter."),
        p("Get to know your camera", H2),
        p(
            "<b>Front:</b> lens, status LED, motion (PIR) sensor, infrared LEDs and spotlight. "
            "<b>Back, under the rubber cover:</b> USB-C charging port, Power button, microSD card "
            "slot "
            "and Sync button. <b>Bottom:</b> thread for the wall mount and the serial number label "
            "(also printed inside the rubber cover)."
        ),
        p("Step 1: Charge the camera", H2),
        p(
            "Your camera ships with about 50% charge. For the longest battery life, charge it "
            "fully "
            "before mounting: connect the USB-C cable. The LED is solid amber while charging and "
            "solid green when full. A full charge takes about 5 hours. The battery does not charge "
            "below 0 &deg;C."
        ),
        PageBreak(),
    ]
    # Page 2: pairing, LED table
    s += [
        p("Step 2: Add the camera to the Korvo app", H2),
        *bullets(
            [
                "Open the rubber cover and hold the <b>Power</b> button for 3 seconds. The camera "
                "chimes and the LED blinks blue.",
                "In the Korvo app, tap <b>Home &gt; + &gt; Add device &gt; Korvo Cam</b>.",
                "<b>With a Korvo Hub:</b> the app finds the camera automatically (Easy Pair). Tap "
                "<b>Add</b> and wait about 30 seconds.",
                "<b>Without a Korvo Hub:</b> choose your Wi-Fi, enter the password and hold the QR "
                "code on your phone 15-30 cm in front of the lens until the camera says "
                '"QR code scanned". The code is valid for 3 minutes.',
                'When the LED is solid blue and the camera says "Connected", name the camera.',
            ],
            numbered=True,
        ),
        p(
            "If the LED is not blinking blue, press the <b>Sync</b> button for 3 seconds. "
            "Pairing errors: E-201 wrong Wi-Fi password, E-202 no 2.4 GHz network found, "
            "E-203 QR code expired, E-204 camera registered to another account."
        ),
        p("Status light", H2),
        table(
            [
                ["LED", "Meaning"],
                ["Blinking blue", "Ready to pair"],
                ["Solid blue (10 seconds)", "Connected successfully"],
                ["Slow blinking red", "Can't connect to Wi-Fi"],
                ["Fast blinking red", "Wi-Fi works, but Korvo Cloud can't be reached"],
                ["Solid amber / solid green", "Charging / fully charged (cable connected)"],
                ["Blinking amber", "Battery below 10%"],
                ["Solid red", "Hardware error: contact Korvo Support"],
                ["Flashing red and blue", "Factory reset in progress"],
                ["Off", "Normal operation (the LED stays off to save battery)"],
            ],
            [55 * mm, 110 * mm],
        ),
        Spacer(1, 6),
        p(
            "To factory reset the camera, hold the Sync button for 15 seconds until the LED "
            "flashes "
            'red and blue and the camera says "Reset complete".'
        ),
        PageBreak(),
    ]
    # Page 3: mounting, recording, safety
    s += [
        p("Step 3: Mount the camera", H2),
        *bullets(
            [
                "Before drilling, check the Wi-Fi signal at the spot in <b>Camera settings &gt; "
                "Device info</b>: -67 dBm or better is good.",
                "Mount at 2-3 m height, tilted 15-30&deg; downwards, so people walk across the "
                "view.",
                "Keep the sun, heat sources and glass out of the way; night vision does not work "
                "through windows.",
                "Outdoors, use the screw mount and always close the rubber cover (IP65).",
            ]
        ),
        p("Step 4: Choose how to record", H2),
        p(
            "Without a subscription you get live view, motion alerts with a snapshot, and "
            "recording to "
            "a microSD card (8-256 GB, Class 10/U1 or faster). With Korvo Cloud, clips are stored "
            "online: 7 days on Basic, 30 days on Plus and 60 days on Pro. New customers can try "
            "Plus "
            "free for 30 days in <b>Settings &gt; Subscription &amp; Billing</b>."
        ),
        KeepTogether(
            [
                p("Safety and care", H2),
                *bullets(
                    [
                        "Operating temperature -20 &deg;C to 50 &deg;C. Charge only between 0 "
                        "&deg;C and 45 &deg;C.",
                        "Do not open the camera or try to replace the battery.",
                        "Clean the lens with a soft, dry cloth. Do not use cleaning agents.",
                        "Check local rules before recording public areas or neighbours' property; "
                        "use privacy zones where needed.",
                    ]
                ),
            ]
        ),
        p("Warranty and support", H2),
        p(
            "Korvo Cam has a 2-year warranty in the EU and UK and a 1-year warranty in the US and "
            "other countries. Help articles and support: in the Korvo app under <b>Settings &gt; "
            "Help &amp; support</b>, or email support@korvolabs.example (Monday to Friday "
            "08:00-20:00 "
            "CET, Saturday 10:00-16:00 CET)."
        ),
        Spacer(1, 14),
        p(
            "Korvo Labs B.V., Utrecht, the Netherlands. Korvo and Korvo Cam are trademarks of "
            "Korvo Labs.",
            CENTER,
        ),
    ]
    return s


def _footer(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.grey)
    canvas.drawString(20 * mm, 12 * mm, "Korvo Cam Quick Start Guide")
    canvas.drawRightString(190 * mm, 12 * mm, f"Page {doc.page}")
    canvas.restoreState()


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = BaseDocTemplate(
        str(OUT),
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title="Korvo Cam Quick Start Guide",
        author="Korvo Labs",
        subject="Korvo Cam KC-20 quick start",
        invariant=1,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    # The footer is drawn when a page ends, so extracted text reads body first, footer last.
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=_footer)])
    doc.build(story())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
