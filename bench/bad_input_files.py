"""Bad files for the bad-input suite: empty, binary, non-UTF-8, huge, deeply nested, broken.

Every file is generated (seeded) into a folder the caller gives; nothing is downloaded.
`make_bad_files(folder)` returns {name: path}; the good files beside them must get indexed
in the same ingest batch (nothing lost).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

MB = 1024 * 1024
GOOD_TEXT = (
    "# {title}\n\n"
    "To {verb} the Korvo hub, open the Korvo app, choose Devices, then {title}. "
    "The hub confirms with a green light within thirty seconds.\n"
)


def good_manual(folder: Path, name: str) -> Path:
    """A small valid Markdown manual whose title is its name (so it can be found again)."""
    path = folder / f"{name}.md"
    path.write_text(GOOD_TEXT.format(title=name.replace("-", " "), verb="set up"))
    return path


def good_tickets(folder: Path, name: str) -> Path:
    path = folder / f"{name}.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["ticket_id", "subject", "customer_message", "resolution"])
    writer.writerow(["T-1", "Hub offline", "My hub is offline.", "Restart the hub and router."])
    writer.writerow(["T-2", "Refund", "Where is my refund?", "Refunds take 5 to 10 days."])
    path.write_text(buffer.getvalue())
    return path


def _pdf_bytes(text: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _encrypted_pdf(text: str, password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(_pdf_bytes(text))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_manual_files(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Bad manuals (documents): each must fail or warn on its own, one line each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        path = folder / name
        path.write_bytes(data)
        files[name] = path

    write("empty.md", b"")
    write("whitespace.txt", b" \n\t\n   \n")
    write("empty.pdf", b"")
    write("binary.md", bytes(rng.getrandbits(8) for _ in range(64 * 1024)))
    write("nul-bytes.txt", b"hello\x00world\x00" * 100)
    write("latin1.txt", "Café crème: the hub's LED is über bright. Größe.\n".encode("latin-1"))
    write("invalid-utf8.md", b"# Title\n\nBroken \xff\xfe\xfa bytes in a manual about the hub.\n")
    write("nested.html", _nested_html(100_000))
    write("nested-unclosed.html", b"<div>" * 200_000 + b"text")
    write("corrupt.pdf", _pdf_bytes("Korvo hub manual")[:300])
    write("garbage.pdf", b"%PDF-1.7\n" + bytes(rng.getrandbits(8) for _ in range(4096)))
    write("encrypted.pdf", _encrypted_pdf("Secret Korvo manual", "hunter2"))
    write("image-only.pdf", _pdf_bytes(""))
    write("unsupported.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    return files


def make_record_files(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Bad ticket exports (ingest --tickets)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        path = folder / name
        path.write_bytes(data)
        files[name] = path

    write("wrong-columns.csv", b"colour,size,weight\nred,10,3\nblue,12,4\n")
    write("header-only.csv", b"ticket_id,subject,customer_message,resolution\n")
    write("ragged.csv", b'ticket_id,text\n1,"unterminated quote\n2,fine\n')
    field = "x" * (10 * MB)
    write("big-field.csv", f"ticket_id,text\n1,{field}\n".encode())
    write("big-field.jsonl", (json.dumps({"id": "1", "text": field}) + "\n").encode())
    write(
        "broken-lines.jsonl",
        b'{"id": "1", "text": "The hub resets with a pin."}\n{"id": "2", "text": \n'
        b"not json at all\n",
    )
    write("array-lines.jsonl", b'[1, 2, 3]\n"a string"\n')
    write("empty.jsonl", b"")
    write("binary.csv", bytes(range(256)) * 64)
    return files


def make_huge_file(folder: Path, megabytes: int = 50) -> Path:
    """A text file of `megabytes` MB (over the ingest size limit), written in 1 MB blocks."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"huge-{megabytes}mb.txt"
    line = b"The Korvo hub blinks blue while pairing and turns solid white when online.\n"
    block = line * (MB // len(line) + 1)
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(block[:MB])
    return path


def make_feedback_files(folder: Path) -> dict[str, Path]:
    """Bad inputs for `feedback import` and `eval` (JSONL of rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = {
        "messages": [
            {"role": "user", "content": "How do I reset the hub?"},
            {"role": "assistant", "content": "Hold the pin for ten seconds."},
        ],
        "rating": "good",
    }
    files = {
        "feedback-broken.jsonl": json.dumps(good) + "\n{broken\n[]\n" + '{"rating": "meh"}\n',
        "feedback-empty.jsonl": "",
        "feedback-binary.jsonl": None,
        "eval-broken.jsonl": '{"question": "Hi?", "reference": "Hello."}\nnot json\n',
        "eval-empty.jsonl": "",
        "eval-wrong-fields.jsonl": '{"colour": "red"}\n{"size": 3}\n',
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        path = folder / name
        if text is None:
            path.write_bytes(bytes(range(256)) * 16)
        else:
            path.write_text(text)
        paths[name] = path
    return paths


def make_config_files(folder: Path) -> dict[str, Path]:
    """Broken settings files for DESKLOOP_CONFIG."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "malformed.toml": 'model = "embedded\n[retrieval\ntop_k = \n',
        "unknown-key.toml": "colour = 'blue'\n",
        "unknown-section-key.toml": "[retrieval]\nflavour = 3\n",
        "wrong-type.toml": "[retrieval]\ntop_k = 'many'\n",
        "huge-number.toml": "[generation]\nmax_new_tokens = 99999999999999999999\n",
        "negative.toml": "[retrieval]\nchunk_tokens = -5\n",
        "overlap-too-big.toml": "[retrieval]\nchunk_tokens = 64\nchunk_overlap = 200\n",
        "section-as-value.toml": "retrieval = 3\n",
        "bad-region.toml": "[training]\npii_phone_regions = ['ZZ']\n",
        "nan.toml": "[retrieval]\nmin_similarity = nan\n",
        "deep.toml": "[" + ".".join(["a"] * 200) + "]\nb = 1\n",
    }
    paths = {}
    for name, text in texts.items():
        path = folder / name
        path.write_text(text)
        paths[name] = path
    binary = folder / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    paths["binary.toml"] = binary
    latin = folder / "latin1.toml"
    latin.write_bytes("model = 'caf\xe9'\n".encode("latin-1"))
    paths["latin1.toml"] = latin
    return paths


def _nested_html(depth: int) -> bytes:
    return (
        b"<html><body>"
        + b"<div>" * depth
        + b"<p>Deep text about the Korvo hub.</p>"
        + b"</div>" * depth
        + b"</body></html>"
    )
