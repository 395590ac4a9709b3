"""Failures the user can act on (deskloop's and retrieval's) read as one line, no traceback."""

import pytest

from assistant import app, cli
from retrieval.store.chroma_index import EmbeddingModelMismatchError
from tui.services import describe_error

MISMATCH = "collection 'deskloop' was built with embedding model a, not b; use that model"


def test_cli_turns_a_retrieval_error_into_one_line(monkeypatch, capsys):
    def fail(settings):
        raise EmbeddingModelMismatchError(MISMATCH)

    monkeypatch.setattr(app, "open_store", fail)
    with pytest.raises(SystemExit) as caught:
        cli.main(["history"])
    assert caught.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [f"error: {MISMATCH}"]


def test_cli_shows_a_bug_as_one_line_and_its_traceback_only_in_debug(monkeypatch, capsys):
    def fail(settings):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app, "open_store", fail)
    with pytest.raises(SystemExit) as caught:
        cli.main(["history"])
    assert caught.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: unexpected RuntimeError: a bug;")
    assert "DESKLOOP_DEBUG=1" in lines[0]

    monkeypatch.setenv("DESKLOOP_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["history"])


def test_app_notification_shows_a_retrieval_error_as_is():
    assert describe_error(EmbeddingModelMismatchError(MISMATCH)) == MISMATCH
    assert describe_error(RuntimeError("x")) == "RuntimeError: x"
