"""Loaders for manuals: Markdown, reStructuredText, plain text, HTML and PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bs4 import BeautifulSoup, Tag
from langchain_text_splitters import MarkdownHeaderTextSplitter
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from retrieval.loaders.document import LoadedDocument, LoadError, Section
from retrieval.loaders.text_decoding import decode_text

HEADING_SEPARATOR = " > "

_MARKDOWN_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
_HTML_HEADINGS = ("h1", "h2", "h3")
_HTML_DROPPED = ("script", "style", "nav", "noscript", "template", "svg", "iframe")
_HTML_BLOCKS = (
    "p", "div", "li", "tr", "br", "pre", "blockquote", "section", "article", "table",
    "ul", "ol", "dl", "dt", "dd", "h4", "h5", "h6", "header", "footer", "main", "aside",
)  # fmt: skip
_HTML_CELLS = ("td", "th")
# Deeper than this, a page is indexed as plain lines: marking block ends walks each element's
# descendants (quadratic on a page of 100,000 nested <div>s, hours instead of seconds).
_HTML_MAX_LAYOUT_DEPTH = 256
# Declarations that keep an element's text off the rendered page: a reader never sees it, so
# it is not indexed (a common way to plant instructions for an assistant in a page).
_HIDING = re.compile(
    r"(?:^|[;{])\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"
    r"|(?:font-size|opacity)\s*:\s*0(?:\.0*)?(?:[a-z]+|%)?)\s*(?:!important\s*)?(?=;|}|$)",
    re.IGNORECASE,
)
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_CLASS_SELECTOR = re.compile(r"^\s*[a-z0-9_-]*\.([a-z0-9_-]+)\s*$", re.IGNORECASE)
_RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.!$%&(),/;?@\[\]{|}])\1+\s*$")


def load_markdown(path: Path, data: bytes) -> LoadedDocument:
    decoded = decode_text(data)
    splitter = MarkdownHeaderTextSplitter(_MARKDOWN_HEADERS, strip_headers=True)
    sections: list[Section] = []
    title = ""
    for piece in splitter.split_text(decoded.text):
        trail = [piece.metadata[key] for _, key in _MARKDOWN_HEADERS if key in piece.metadata]
        title = title or (trail[0] if trail else "")
        if piece.page_content.strip():
            sections.append(Section(piece.page_content, HEADING_SEPARATOR.join(trail)))
    return _document(path, title, sections, decoded.warning)


def load_restructuredtext(path: Path, data: bytes) -> LoadedDocument:
    decoded = decode_text(data)
    sections: list[Section] = []
    title = ""
    trail: list[str] = []
    styles: list[tuple[str, bool]] = []  # reST heading levels are set by order of first use
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            sections.append(Section(text, HEADING_SEPARATOR.join(trail)))
        body.clear()

    lines = decoded.text.splitlines()
    index = 0
    while index < len(lines):
        heading = _rst_heading_at(lines, index)
        if heading is None:
            body.append(lines[index])
            index += 1
            continue
        text, style, consumed = heading
        flush()
        if style not in styles:
            styles.append(style)
        level = styles.index(style)
        trail = [*trail[:level], text]
        title = title or text
        index += consumed
    flush()
    return _document(path, title, sections, decoded.warning)


def _rst_heading_at(lines: list[str], index: int) -> tuple[str, tuple[str, bool], int] | None:
    """A heading starting at ``index``: (text, (adornment char, overlined), lines used)."""
    line = lines[index]
    over = _RST_ADORNMENT.match(line)
    if over and index + 2 < len(lines):
        text, under = lines[index + 1].strip(), _RST_ADORNMENT.match(lines[index + 2])
        if text and under and under.group(1) == over.group(1) and not _RST_ADORNMENT.match(text):
            return text, (over.group(1), True), 3
    if index + 1 >= len(lines) or not line.strip() or line[0].isspace() or over:
        return None
    under = _RST_ADORNMENT.match(lines[index + 1])
    if under and len(lines[index + 1].rstrip()) >= len(line.rstrip()):
        return line.strip(), (under.group(1), False), 2
    return None


def load_plain_text(path: Path, data: bytes) -> LoadedDocument:
    decoded = decode_text(data)
    return _document(path, "", [Section(decoded.text.strip())], decoded.warning)


def load_html(path: Path, data: bytes) -> LoadedDocument:
    decoded = decode_text(data)
    soup = BeautifulSoup(decoded.text, "html.parser")
    hidden_classes = _hidden_classes(soup)
    for tag in soup.find_all(_HTML_DROPPED):
        tag.decompose()
    for tag in soup.find_all(lambda t: _is_hidden(t, hidden_classes)):
        tag.decompose()
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    marker = "\x00"
    depth = _depth(soup)
    warning = decoded.warning
    if depth > _HTML_MAX_LAYOUT_DEPTH:
        warning = (
            f"HTML nested {depth} levels deep; indexed as plain lines (headings and tables "
            "not kept): simplify the page if its structure matters"
        )
    else:
        for tag in soup.find_all(_HTML_HEADINGS):
            level = int(tag.name[1])
            tag.replace_with(f"\n{marker}{level}{tag.get_text(' ', strip=True)}\n")
        for tag in soup.find_all(_HTML_BLOCKS):
            tag.append("\n")
        for tag in soup.find_all(_HTML_CELLS):
            tag.append(" | ")

    sections: list[Section] = []
    trail: list[str] = []
    body: list[str] = []
    first_heading = ""

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            sections.append(Section(text, HEADING_SEPARATOR.join(trail)))
        body.clear()

    text = soup.get_text("\n") if depth > _HTML_MAX_LAYOUT_DEPTH else soup.get_text()
    for raw_line in text.splitlines():
        line = " ".join(raw_line.split())
        if line.startswith(marker):
            flush()
            level, heading = int(line[1]), line[2:].strip()
            trail = [*trail[: level - 1], heading]
            first_heading = first_heading or heading
        elif line or (body and body[-1]):
            body.append(line)
    flush()
    return _document(path, page_title or first_heading, sections, warning)


def _depth(soup: BeautifulSoup) -> int:
    """How deep the page's elements nest (one pass; no recursion)."""
    depths = {id(soup): 0}
    deepest = 0
    for element in soup.descendants:
        if isinstance(element, Tag):
            depth = depths[id(element.parent)] + 1
            depths[id(element)] = depth
            deepest = max(deepest, depth)
    return deepest


def _hidden_classes(soup: BeautifulSoup) -> frozenset[str]:
    """Classes a page's own style sheets hide (".visually-hidden { display: none }")."""
    hidden: set[str] = set()
    for style in soup.find_all("style"):
        for selectors, body in _CSS_RULE.findall(style.get_text()):
            if _HIDING.search(body):
                for selector in selectors.split(","):
                    match = _CLASS_SELECTOR.match(selector)
                    if match:
                        hidden.add(match.group(1).lower())
    return frozenset(hidden)


def _is_hidden(tag, hidden_classes: frozenset[str]) -> bool:
    # No `tag.decomposed` here: find_all judges the live tree, where nothing is decomposed,
    # and on a Tag that property searches the whole subtree (quadratic on deep nesting).
    if tag.attrs is None:
        return False
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    if _HIDING.search(str(tag.get("style", ""))):
        return True
    return any(name.lower() in hidden_classes for name in tag.get("class", []))


def load_pdf(path: Path, data: bytes) -> LoadedDocument:
    if not data.strip():
        raise LoadError("file is empty; add content to it or leave it out")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("PDF is password-protected; save an unprotected copy and ingest that")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        detail = " ".join(str(error).split())[:120]
        raise LoadError(
            f"cannot read PDF ({type(error).__name__}: {detail}); the file looks corrupt: "
            "re-export or re-download it"
        ) from error
    sections = [
        Section(text.strip(), page=number)
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    if not sections:
        raise LoadError(
            "PDF has no extractable text (a scanned image?); run OCR on it first or leave it out"
        )
    return _document(path, str(metadata_title).strip(), sections, None)


def _document(
    path: Path, title: str, sections: list[Section], warning: str | None
) -> LoadedDocument:
    if not sections:
        raise LoadError("no text found after parsing; check the file's contents")
    return LoadedDocument(
        source=str(path),
        title=title.strip() or path.stem,
        sections=sections,
        warnings=[warning] if warning else [],
    )
