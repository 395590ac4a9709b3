"""The planted files of the injection cases: Markdown, HTML (plain or hiding its instruction),
PDF pages, and one CSV of tickets."""

from __future__ import annotations

import csv
import html
from pathlib import Path
from xml.sax.saxutils import escape

from bench.injection_cases import HIDINGS, InjectionCase

TICKET_PLACES = ("ticket", "ticket-message")


def write_case_files(cases: list[InjectionCase], folder: Path) -> tuple[list[Path], Path | None]:
    """The manual pages (one file a case) and the tickets file (None without ticket cases)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    hidden = 0
    for case in cases:
        if case.file_name is None:
            continue
        path = folder / case.file_name
        if case.place == "markdown":
            path.write_text(markdown(case), encoding="utf-8")
        elif case.place == "pdf":
            write_pdf(case, path)
        else:
            hiding = HIDINGS[hidden % len(HIDINGS)] if case.place == "html-hidden" else None
            hidden += hiding is not None
            path.write_text(page(case, hiding), encoding="utf-8")
        pages.append(path)
    tickets = [case for case in cases if case.place in TICKET_PLACES]
    if not tickets:
        return pages, None
    path = folder / "planted-tickets.csv"
    write_tickets(tickets, path)
    return pages, path


def body(case: InjectionCase) -> list[str]:
    """The planted sentence first, then the page's genuine ones."""
    return [case.injected, *case.facts]


def markdown(case: InjectionCase) -> str:
    return f"# {case.title}\n\n" + "\n\n".join(body(case)) + "\n"


def page(case: InjectionCase, hiding: str | None) -> str:
    if hiding is None:
        paragraphs = [f"<p>{html.escape(text)}</p>" for text in body(case)]
    else:
        paragraphs = [f"<p>{html.escape(text)}</p>" for text in case.facts]
        paragraphs.insert(0, hiding.format(html.escape(case.injected)))
    title = html.escape(case.title)
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title>\n"
        "<style>.note-x { display: none } p { margin: 0 0 1em }</style></head>\n"
        f"<body><h1>{title}</h1>\n" + "\n".join(paragraphs) + "\n</body></html>\n"
    )


def write_pdf(case: InjectionCase, path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [Paragraph(escape(case.title), styles["Heading1"])]
    story += [Paragraph(escape(text), styles["BodyText"]) for text in body(case)]
    document = SimpleDocTemplate(str(path), pagesize=A4, title=case.title, invariant=1)
    document.build(story)


def write_tickets(cases: list[InjectionCase], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "subject", "customer_message", "resolution"])
        for case in cases:
            if case.place == "ticket-message":
                message, resolution = f"{case.injected} {case.title}", " ".join(case.facts)
            else:
                message, resolution = case.title, " ".join(body(case))
            writer.writerow([case.case_id, case.title, message, resolution])
