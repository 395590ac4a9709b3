"""A ticket export with broken lines keeps its good records (found by the bad-input suite:
one broken line made the whole file fail, every good record in it lost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.loaders import LoadError, RecordFields, load_file


def test_broken_lines_are_skipped_with_a_warning_and_the_rest_is_kept():
    data = (
        b'{"id": "1", "text": "The hub resets with a pin."}\n'
        b'{"id": "2", "text": \n'
        b"[1, 2]\n"
        b'{"id": "3", "text": "Refunds take five days."}\n'
    )
    document = load_file(Path("tickets.jsonl"), data, RecordFields())
    assert [s.record_id for s in document.sections] == ["1", "3"]
    [warning] = document.warnings
    assert warning.startswith("skipped 2 broken line(s)") and "line 2 is not valid JSON" in warning


def test_a_file_of_broken_lines_only_fails_on_one_line():
    with pytest.raises(LoadError, match="line 1 is not valid JSON"):
        load_file(Path("tickets.jsonl"), b"{broken\nnot json\n", RecordFields())
