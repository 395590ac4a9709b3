"""The chat screen on a scripted model with a real store: ask, stream, flag, cancel, escalate."""

from __future__ import annotations

import threading

from pilot_helpers import SIZE, ask, ready, wait_until
from textual.widgets import Markdown, OptionList, TextArea

from tui.screens.flag import FlagDialog
from tui.widgets.conversation_list import ConversationList
from tui.widgets.messages import AnswerView, QuestionView
from tui.widgets.sources_panel import SourcesPanel


async def test_the_input_waits_for_the_engine_then_an_answer_streams_in_with_sources(
    make_app, store
):
    app = make_app(answers=["Open **Settings**, then *Security* [1]."])
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one("#status-bar")  # the UI is up before the engine
        await ready(pilot)
        view = await ask(pilot, "How do I reset my password?\nThe customer is locked out.")

        assert view.turn.status == "complete"
        assert "Security" in view.query_one(Markdown).source
        questions = list(app.screen.query(QuestionView))
        assert questions[-1].text.startswith("How do I reset my password?\nThe customer")
        panel = app.screen.query_one(SourcesPanel)
        assert [s.title for s in panel.sources] == ["Account security", "Locked out after reset"]
        assert panel.query_one(OptionList).option_count == 2
        status = str(app.screen.query_one("#status-bar").render())
        assert "scripted" in status and "tok/s" in status and "adapter base" in status

        conversations = store.conversations()
        assert len(conversations) == 1
        turns = store.turns(conversations[0].id)
        assert [t.role for t in turns] == ["user", "assistant"]
        assert turns[1].id == view.turn.id
        assert [s.n for s in turns[1].sources] == [1, 2]


def held_until(app, loaded: threading.Event) -> None:
    """Make the app's engine load wait for ``loaded`` (10 s at most)."""
    factory = app.engine_factory

    def load(settings, progress):
        loaded.wait(10)
        return factory(settings, progress)

    app.engine_factory = load


async def test_a_message_sent_while_the_model_loads_goes_out_once_it_is_ready(make_app, store):
    app = make_app(answers=["Open Settings, then Security [1]."])
    loaded = threading.Event()
    held_until(app, loaded)
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#question", TextArea)
        assert not box.disabled and not app.engine_ready  # the message can be pasted already
        box.focus()
        box.text = "How do I reset my password?"
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert not app.screen.query(AnswerView) and box.text  # held until the model is ready
        assert any("goes out once it is ready" in str(n.message) for n in app._notifications)
        loaded.set()
        await wait_until(pilot, lambda: bool(app.screen.query(AnswerView)))
        view = app.screen.query_one(AnswerView)
        await wait_until(pilot, lambda: view.turn is not None)
        assert view.turn.status == "complete" and box.text == ""
        [conversation] = store.conversations()
        assert store.turns(conversation.id)[0].content == "How do I reset my password?"


async def test_esc_holds_a_message_waiting_for_the_model(make_app, store):
    app = make_app()
    loaded = threading.Event()
    held_until(app, loaded)
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#question", TextArea)
        box.focus()
        box.text = "Where is my parcel?"
        await pilot.press("ctrl+s")
        await pilot.press("escape")
        loaded.set()
        await ready(pilot)
        await pilot.pause(0.2)
        assert not app.screen.query(AnswerView) and box.text == "Where is my parcel?"
        assert store.conversations() == []


async def test_flag_good_and_flag_bad_with_reason_and_correction_land_in_the_store(make_app, store):
    app = make_app(answers=["Refunds take a year.", "Hold the reset button [1]."])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        first = await ask(pilot, "How long do refunds take?")
        second = await ask(pilot, "How do I reset the hub?")

        await pilot.press("ctrl+g")  # the newest answer is selected
        await wait_until(pilot, lambda: second.turn.rating == "good")
        assert "flagged good" in str(second.query_one(".message-header").render())

        app.screen.select(first)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, FlagDialog))
        dialog = app.screen
        assert dialog.query_one("#flag-correction", TextArea).text == "Refunds take a year."
        dialog.query_one("#flag-reason").focus()
        await pilot.press("down")  # incorrect -> incomplete
        await pilot.press("enter")
        editor = dialog.query_one("#flag-correction", TextArea)
        editor.text = "Refunds arrive in five to ten business days."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, FlagDialog))
        await wait_until(pilot, lambda: first.turn.rating == "bad")
        assert "flagged bad (incomplete)" in str(first.query_one(".message-header").render())
        assert "five to ten" in str(first.query_one(".correction").render())

    flagged = store.turn(first.turn.id)
    assert (flagged.rating, flagged.reason) == ("bad", "incomplete")
    assert flagged.correction == "Refunds arrive in five to ten business days."
    assert store.turn(second.turn.id).rating == "good"
    assert store.feedback_counts() == {"good": 1, "corrected": 1, "bad": 0}


async def test_an_unedited_correction_is_not_stored_as_one(make_app, store):
    app = make_app(answers=["Try turning it off and on."])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "The camera is offline")
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, FlagDialog))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: view.turn.rating == "bad")
    turn = store.turn(view.turn.id)
    assert (turn.reason, turn.correction) == ("incorrect", None)


async def test_escape_cancels_a_slow_answer_keeps_the_partial_text_and_stays_usable(
    make_app, store
):
    long_answer = " ".join(f"word{i}" for i in range(200))
    app = make_app(answers=[long_answer, "Second answer."], delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "Tell me everything", wait=False)
        await wait_until(pilot, lambda: len(view.text.split()) >= 3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: view.turn is not None, timeout=2)

        assert view.turn.status == "cancelled"
        assert "cancelled" in str(view.query_one(".message-header").render())
        stored = store.turn(view.turn.id)
        assert stored.status == "cancelled"
        assert stored.content.startswith("word0 word1") and len(stored.content.split()) < 200

        again = await ask(pilot, "And now?")
        assert again.turn.status == "complete"


async def test_new_conversation_switching_and_filter(make_app, store):
    app = make_app(answers=["Answer one.", "Answer two.", "Answer three."])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, "Printer jams on page two")
        first_id = app.screen.conversation_id
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not app.screen.query(AnswerView))
        assert app.screen.conversation_id is None
        await ask(pilot, "Refund for a double charge")
        second_id = app.screen.conversation_id
        assert second_id != first_id
        await ask(pilot, "It was charged twice in May")
        assert len(store.turns(second_id)) == 4

        conversations = app.screen.query_one(ConversationList)
        items = conversations.query_one("#conversation-items")
        await wait_until(pilot, lambda: len(items.children) == 2)
        app.screen.post_message(ConversationList.Chosen(first_id))
        await wait_until(pilot, lambda: app.screen.conversation_id == first_id)
        await wait_until(pilot, lambda: len(app.screen.query(AnswerView)) == 1)
        assert app.screen.query_one(QuestionView).text == "Printer jams on page two"

        await pilot.press("ctrl+f")
        await pilot.press(*"charged")  # matches a turn of the second conversation only
        await wait_until(pilot, lambda: len(items.children) == 1)
        assert items.children[0].name == second_id
        items.focus()
        items.index = 0
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.conversation_id == second_id)
        assert len(app.screen.query(AnswerView)) == 2


async def test_escalate_records_the_note_on_the_conversation(make_app, store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, "I want to speak to a manager")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.screen.query("#escalate-note"))
        await pilot.press(*"billing dispute")
        await pilot.press("enter")
        conversation_id = app.chat_screen.conversation_id
        await wait_until(pilot, lambda: store.conversation(conversation_id).escalated_at)
    chat = store.conversation(conversation_id)
    assert chat.escalation_note == "billing dispute"


async def test_copy_sends_the_selected_answer_to_the_clipboard(make_app):
    app = make_app(answers=["Copy me [1]."])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, "question")
        await pilot.press("ctrl+o")
        assert app.clipboard == "Copy me [1]."


async def test_a_failing_model_shows_a_notification_not_a_traceback(make_app, scripted_model):
    def broken(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    app = make_app()
    scripted_model.stream = broken
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "Anything", wait=False)
        await wait_until(pilot, lambda: view.has_class("-failed"))
        assert any("GPU caught fire" in str(n.message) for n in app._notifications)
        assert app.screen.stream is None
        await pilot.press("ctrl+n")  # still usable
        assert app.is_running


async def test_an_engine_that_fails_to_load_is_reported(settings):
    from tui.app import DeskloopApp

    def failing(_settings, _progress):
        from assistant.errors import DeskloopError

        raise DeskloopError("model folder /nowhere not found: set DESKLOOP_MODEL")

    app = DeskloopApp(settings, engine_factory=failing)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine_status == "model failed to load")
        assert any("DESKLOOP_MODEL" in str(n.message) for n in app._notifications)
        assert app.screen.query_one("#question").disabled
