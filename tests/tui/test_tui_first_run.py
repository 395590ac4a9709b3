"""The app's first start indexes the sample knowledge base, its progress in the status bar."""

from __future__ import annotations

import pytest

from assistant.app import open_knowledge_base
from tui.services import index_samples_on_first_run

MANUAL = "# Resetting a password\n\nOpen Settings, then Security, then Reset password.\n"
TICKETS = (
    "ticket_id,subject,customer_message,resolution\n"
    "KT-1,reset link expired,my reset link does not work,Sent a new link; it works one hour.\n"
)


@pytest.fixture
def samples(tmp_path, monkeypatch):
    corpora = tmp_path / "corpora"
    (corpora / "manuals").mkdir(parents=True)
    (corpora / "tickets").mkdir()
    (corpora / "manuals" / "password.md").write_text(MANUAL, encoding="utf-8")
    (corpora / "tickets" / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    monkeypatch.setattr("assistant.app.shipped_corpora", lambda: corpora)
    return corpora


def test_an_empty_knowledge_base_gets_the_samples_with_progress_then_is_left_alone(
    settings, samples
):
    steps: list[str] = []
    index_samples_on_first_run(settings, steps.append)

    embedding = "First run: indexing the sample knowledge base, embedding chunks"
    assert any(step.startswith(embedding) for step in steps)
    assert steps[-1].endswith("1/1")
    sources = {s.kind for s in open_knowledge_base(settings).sources()}
    assert sources == {"manual", "ticket"}

    again: list[str] = []
    index_samples_on_first_run(settings, again.append)
    assert again == []  # not empty any more: nothing indexed twice
