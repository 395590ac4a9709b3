"""Approved answers in the app: listed, edited and removed on the Knowledge screen; in the chat,
served marked with their origin and edited before sending."""

from __future__ import annotations

import getpass

from pilot_helpers import SIZE, ask, ready, wait_until
from textual.widgets import Checkbox, DataTable, TextArea

from assistant.app import open_store
from assistant.approved import ApprovedMatch
from assistant.engine import ChatEngine
from assistant.store import AnswerRecord, Store
from tui.app import DeskloopApp
from tui.screens.approved_dialogs import ApprovedEditDialog, SendEditDialog
from tui.screens.knowledge import KnowledgeScreen
from tuning.approved import scrub_text


def approve(settings, question: str, answer: str) -> Store:
    store = open_store(settings)
    _, turn = store.record_exchange("c0", question, AnswerRecord(answer))
    store.flag(turn, "good")
    return store


async def test_knowledge_screen_lists_edits_and_removes_approved_answers(make_app, settings):
    store = approve(settings, "How do I cancel? I'm ana@example.com", "Tap Cancel.")
    [entry] = store.approved.entries()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
        screen = app.screen
        table = screen.query_one("#approved-answers", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        _, question, origin, who, _ = table.get_row_at(0)
        assert question == "How do I cancel? I'm [EMAIL]"
        assert (origin, who) == ("flagged good", getpass.getuser())

        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovedEditDialog))
        app.screen.query_one("#approved-answer", TextArea).text = "Tap Plan, then Cancel."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: store.approved.get(entry.id).answer.startswith("Tap Plan"))

        table.focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: bool(app.screen.query("#confirm-dialog")))
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 0)
        assert store.approved.entries() == []


class StoredLookup:
    """Serves the store's approved answers for their exact question (the matcher's stand-in)."""

    def __init__(self, store: Store):
        self.store = store

    def match(self, question: str, history: list[dict]) -> ApprovedMatch | None:
        for entry in self.store.approved.entries():
            if entry.question == question and not history:
                return ApprovedMatch(
                    entry.id,
                    entry.question,
                    entry.answer,
                    entry.created_by,
                    entry.created_at,
                    entry.conversation_id,
                    0.97,
                )
        return None


async def test_chat_marks_an_approved_answer_and_edits_it_before_sending(settings, scripted_model):
    store = approve(settings, "How do I cancel my plan?", "Tap Cancel.")
    [entry] = store.approved.entries()

    def engine_factory(current, progress) -> ChatEngine:
        engine_store = Store(current.paths.database)
        return ChatEngine(scripted_model, engine_store, current, approved=StoredLookup(store))

    app = DeskloopApp(settings, engine_factory=engine_factory)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "How do I cancel my plan?")
        header = str(view.query_one(".message-header").render())
        assert "approved answer" in header and f"approved #{entry.id}" in header
        assert "flagged good by" in header and "conversation c0" in header
        assert view.has_class("-approved") and scripted_model.calls == []

        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, SendEditDialog))
        app.screen.query_one("#send-edit-text", TextArea).text = "Hi Ana, tap Cancel in Plan."
        app.screen.query_one("#send-edit-update", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: view.text == "Hi Ana, tap Cancel in Plan.")
        assert store.turn(view.turn.id).content == "Hi Ana, tap Cancel in Plan."
        # The turn keeps what was sent; the approved answer is stored PII-masked.
        assert store.approved.get(entry.id).answer == scrub_text("Hi Ana, tap Cancel in Plan.")
        assert "approved answer" in str(view.query_one(".message-header").render())
