"""Fixtures for the retrieval tests: tiny corpora written per test, real MiniLM and Chroma."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from retrieval_corpus import HELP_HTML, PRINTER_TXT, REFUND_MD, ROUTER_RST

from retrieval import IndexSettings, KnowledgeBase
from retrieval.embeddings import Embedder, shared_embedder


@pytest.fixture
def manuals_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    (folder / "nested").mkdir(parents=True)
    (folder / "refunds.md").write_text(REFUND_MD, encoding="utf-8")
    (folder / "router.rst").write_text(ROUTER_RST, encoding="utf-8")
    (folder / "nested" / "printer.txt").write_text(PRINTER_TXT, encoding="utf-8")
    (folder / "nested" / "help.html").write_text(HELP_HTML, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged MiniLM, loaded once for the whole session."""
    return shared_embedder(None, "cpu")


@pytest.fixture
def make_kb(tmp_path: Path, embedder: Embedder) -> Callable[..., KnowledgeBase]:
    def make(name: str = "index", **settings) -> KnowledgeBase:
        return KnowledgeBase(IndexSettings(directory=tmp_path / name, **settings), embedder)

    return make


@pytest.fixture
def kb(make_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return make_kb()
