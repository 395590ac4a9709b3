from pathlib import Path

import pytest
from retrieval_corpus import (
    HELP_HTML,
    PRINTER_TXT,
    REFUND_MD,
    ROUTER_RST,
    TICKETS,
    write_jsonl,
    write_pdf,
    write_tickets_csv,
)

from retrieval.loaders import LoadError, RecordFields, load_file


def load(path: Path, fields: RecordFields | None = None):
    return load_file(path, path.read_bytes(), fields)


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "refunds.md"
    path.write_text(REFUND_MD)
    document = load(path)
    assert document.title == "Refund policy"
    headings = [section.heading for section in document.sections]
    assert headings == [
        "Refund policy",
        "Refund policy > Requesting a refund",
        "Refund policy > Refund processing time",
    ]
    assert "5 to 7 business days" in document.sections[2].text


def test_restructuredtext_overlined_and_underlined_headings(tmp_path: Path) -> None:
    path = tmp_path / "router.rst"
    path.write_text(ROUTER_RST)
    document = load(path)
    assert document.title == "Router Manual"
    by_heading = {section.heading: section.text for section in document.sections}
    assert "WPS button" in by_heading["Router Manual > Connecting to Wi-Fi"]
    assert "reset pin" in by_heading["Router Manual > Connecting to Wi-Fi > Resetting the router"]


def test_plain_text_is_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "printer-errors.txt"
    path.write_text(PRINTER_TXT)
    document = load(path)
    assert document.title == "printer-errors"
    assert document.sections[0].text.startswith("If the printer shows error E04")


def test_html_drops_scripts_styles_and_navigation(tmp_path: Path) -> None:
    path = tmp_path / "help.html"
    path.write_text(HELP_HTML)
    document = load(path)
    assert document.title == "Account Help"
    text = "\n".join(section.text for section in document.sections)
    for dropped in ("trackingSecret", "color: red", "Home | Products"):
        assert dropped not in text
    headings = [section.heading for section in document.sections]
    assert "Account help > Changing your password" in headings
    assert "Account help > Changing your password > Two-factor codes" in headings
    password = next(s for s in document.sections if s.heading.endswith("password"))
    assert "Click Forgot password on the sign-in page" in " ".join(password.text.split())


def test_pdf_pages_are_numbered(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "coffee.pdf",
        ["Descale the coffee machine every month.", "Replace the water filter yearly."],
    )
    document = load(path)
    assert document.title == "Coffee Machine Guide"
    assert [section.page for section in document.sections] == [1, 2]
    assert "water filter" in document.sections[1].text


def test_csv_tickets_use_default_fields(tmp_path: Path) -> None:
    document = load(write_tickets_csv(tmp_path / "tickets.csv"))
    first = document.sections[0]
    assert first.record_id == "T-1001"
    assert first.title == "Blender lid cracked"
    assert "Customer message: The lid of my blender cracked" in first.text
    assert "Resolution: Sent a free replacement lid" in first.text
    assert first.metadata == {"product": "blender", "category": "warranty"}
    assert len(document.sections) == len(TICKETS)


def test_jsonl_with_explicit_fields(tmp_path: Path) -> None:
    rows = [{"key": "a-1", "heading": "Lost card", "body_text": "Freeze the card in the app."}]
    path = write_jsonl(tmp_path / "cards.jsonl", rows)
    fields = RecordFields(id_field="key", text_field="body_text", title_field="heading")
    document = load(path, fields)
    assert document.sections[0].record_id == "a-1"
    assert document.sections[0].title == "Lost card"
    assert document.sections[0].text == "Freeze the card in the app."


def test_csv_without_text_column_says_which_option_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("number,owner\n1,alice\n")
    with pytest.raises(LoadError, match="--text-field"):
        load(path)
    with pytest.raises(LoadError, match="'notes' not found"):
        load(path, RecordFields(text_field="notes"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        ("empty.md", b"", "empty"),
        ("blank.rst", b"   \n\n", "empty"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "corrupt"),
        ("bad.jsonl", b"{not json\n[1, 2]\n", "line 1"),  # broken lines only: else skipped
    ],
)
def test_bad_files_raise_one_line_reasons(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message) as error:
        load(path)
    assert "\n" not in str(error.value)


def test_non_utf8_text_is_decoded_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\u00e9 cr\u00e8me: r\u00e9sum\u00e9 of the menu".encode("cp1252"))
    document = load(path)
    assert "Café crème" in document.sections[0].text
    assert len(document.warnings) == 1
    assert "not valid UTF-8" in document.warnings[0]
    assert "cp1252" in document.warnings[0]
