"""The terminal app in team mode: a real deskloop server on loopback (real store, knowledge base
with MiniLM, grounding, users, queue, adapter registry, uvicorn; a scripted model generates),
the app driven with Textual's pilot as agent ann, and admin cho acting on the server."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest
from pilot_helpers import SIZE, ask, ready, wait_until
from textual.widgets import DataTable, Input, TextArea
from training_fixtures import adapter_metadata, fake_adapter

from assistant.app import open_store
from assistant.chat_loop import run_main_job
from assistant.client import Client, ServerError
from assistant.settings import load_settings
from assistant.users import Users
from tui.app import DeskloopApp
from tui.remote_services import TeamServices
from tui.screens.adapters import AdaptersScreen
from tui.screens.flag import FlagDialog
from tui.screens.knowledge import KnowledgeScreen
from tui.screens.training import TrainingScreen
from tui.widgets.conversation_list import ConversationList
from tuning.registry import AdapterRegistry

SERVER_TESTS = Path(__file__).resolve().parents[1] / "server"
QUESTION = "How do I reset my password?"
ANSWER = "Choose Forgot password on the sign-in screen [1]."
ROLES = {"ann": "agent", "bob": "agent", "cho": "admin"}
WAIT_S = 30


def server_test_support():
    """make_state and serve_in_thread from the server tests (their building blocks, not
    their module-scoped fixtures), with the server_helpers module they import."""
    sys.path.append(str(SERVER_TESTS))
    spec = importlib.util.spec_from_file_location(
        "server_test_support", SERVER_TESTS / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


support = server_test_support()
GatedModel = sys.modules["server_helpers"].GatedModel


@pytest.fixture(scope="module")
def team_settings(tmp_path_factory):
    home = tmp_path_factory.mktemp("team-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DESKLOOP_CONFIG", str(home / "no-config.toml"))
        settings = load_settings(home=home)
    answers = settings.answers.model_copy(update={"compose": "model"})  # the model generates
    return settings.model_copy(update={"answers": answers})


@pytest.fixture(scope="module")
def team(team_settings, tmp_path_factory):
    """The team's server, its model, registry (two versions, base in service) and tokens."""
    from assistant.app import open_knowledge_base

    manuals = tmp_path_factory.mktemp("manuals")
    for name in support.MANUALS:
        shutil.copy(support.REPO / "corpora" / "manuals" / name, manuals / name)
    knowledge_base = open_knowledge_base(team_settings)
    assert knowledge_base.ingest([manuals]).ok

    users = Users(open_store(team_settings))
    tokens = {name: users.add(name, role)[1] for name, role in ROLES.items()}
    model = GatedModel([ANSWER])
    state = support.make_state(team_settings, knowledge_base, model)
    registry = AdapterRegistry.for_settings(team_settings)
    candidate = fake_adapter(tmp_path_factory.mktemp("candidate"))
    registry.register(candidate, adapter_metadata(0.25, None, 40))
    registry.register(candidate, adapter_metadata(0.31, "v0001", 52))
    state.registry = registry
    state.engine.adapter_choice = registry.active_choice  # answers use the adapter in service
    server, thread, url = support.serve_in_thread(state)
    yield Team(url, state, model, tokens)
    server.should_exit = True
    thread.join(timeout=15)


class Team:
    def __init__(self, url, state, model, tokens):
        self.url, self.state, self.model, self.tokens = url, state, model, tokens

    def client(self, who: str) -> Client:
        return Client(self.url, self.tokens[who])

    def app(self, settings, who: str = "ann", token: str | None = None) -> DeskloopApp:
        client = Client(self.url, token or self.tokens[who])
        return DeskloopApp(settings, team=TeamServices(client, adapter_poll_s=0.2))


@pytest.fixture
def model(team):
    """The server's model, reset for each test: one short answer at once, the gate open."""
    team.model.answers, team.model.delay = [ANSWER], 0.0
    team.model.gate.set()
    yield team.model
    team.model.gate.set()
    team.model.delay = 0.0


def status_of(app) -> str:
    return str(app.screen.query_one("#status-bar").render())


def notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_an_answer_streams_in_waits_its_turn_and_is_stored_on_the_server_as_the_agents(
    team, model, settings
):
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "team 127.0.0.1" in status_of(app)
        model.gate.clear()  # bob's answer holds the model
        bob = threading.Thread(target=lambda: list(team.client("bob").ask(QUESTION, None, None)))
        bob.start()
        assert model.started.acquire(timeout=WAIT_S)

        view = await ask(pilot, QUESTION, wait=False)
        await wait_until(pilot, lambda: "1 ahead in the queue" in status_of(app), WAIT_S)
        model.gate.set()
        await wait_until(pilot, lambda: view.turn is not None, WAIT_S)
        bob.join(WAIT_S)

        assert "Forgot password" in view.text
        assert view.turn.status == "complete" and view.turn.sources
        panel = app.screen.query_one(ConversationList)
        await wait_until(pilot, lambda: len(panel.query("ListItem")) == 1)
    stored = team.state.store.turn(view.turn.id)
    assert (stored.content, stored.actor) == (view.turn.content, "ann")
    conversation = team.state.store.conversation(stored.conversation_id)
    assert conversation.actor == "ann"
    assert stored.conversation_id not in [c["id"] for c in team.client("bob").conversations()]
    assert not settings.paths.database.exists()  # nothing was kept on the agent's machine


async def test_a_flag_with_a_correction_lands_on_the_server(team, model, settings):
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, QUESTION)
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, FlagDialog))
        dialog = app.screen
        dialog.query_one("#flag-reason").focus()
        await pilot.press("down", "enter")  # incorrect -> incomplete
        correction = "Choose Forgot password, then follow the e-mailed link within an hour."
        dialog.query_one("#flag-correction", TextArea).text = correction
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: view.turn.rating == "bad", WAIT_S)
        assert "flagged bad (incomplete)" in str(view.query_one(".message-header").render())
    flagged = team.state.store.turn(view.turn.id)
    assert (flagged.rating, flagged.reason, flagged.correction) == ("bad", "incomplete", correction)
    assert flagged.flagged_by == "ann"


async def test_escape_stops_the_answer_and_the_server_keeps_it_marked_cancelled(
    team, model, settings
):
    model.answers = [" ".join(f"Step {i} is done." for i in range(100))]  # checked per sentence
    model.delay = 0.05
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "Tell me everything about passwords", wait=False)
        await wait_until(pilot, lambda: len(view.text.split()) >= 3, WAIT_S)
        await pilot.press("escape")
        await wait_until(pilot, lambda: view.turn is not None, WAIT_S)
        assert view.turn.status == "cancelled"
        assert notified(app, "Stopped")
    stored = team.state.store.turn(view.turn.id)
    assert stored.status == "cancelled" and len(stored.content.split()) < 400


async def test_escape_while_waiting_in_the_queue_records_nothing(team, model, settings):
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        model.gate.clear()
        bob = threading.Thread(target=lambda: list(team.client("bob").ask(QUESTION, None, None)))
        bob.start()
        assert model.started.acquire(timeout=WAIT_S)
        await ask(pilot, "A question that never gets its turn", wait=False)
        await wait_until(pilot, lambda: "ahead in the queue" in status_of(app), WAIT_S)
        await pilot.press("escape")
        await wait_until(pilot, lambda: notified(app, "nothing was recorded"), WAIT_S)
        assert app.engine_status == "ready"
        model.gate.set()
        bob.join(WAIT_S)
        await wait_until(pilot, lambda: team.state.queue.length == 0, WAIT_S)
    assert not team.state.store.conversations("never gets its turn")


async def test_a_promotion_on_the_server_shows_in_the_running_app_without_a_restart(
    team, model, settings
):
    registry = team.state.registry
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: "adapter base" in status_of(app))

        await pilot.press("f5")  # an agent may look, not switch
        await wait_until(pilot, lambda: isinstance(app.screen, AdaptersScreen))
        await pilot.press("a")
        await wait_until(pilot, lambda: notified(app, "this needs an admin token"))
        assert registry.active() is None
        await pilot.press("f2")

        promoted = team.client("cho").promote("v0002", force=False)
        assert promoted["active"] == "v0002"
        await wait_until(pilot, lambda: "adapter v0002" in status_of(app), WAIT_S)
        assert notified(app, "v0002 is in service now (changed by cho)")
        after = await ask(pilot, QUESTION)
        assert after.turn.adapter_version == "v0002"
        team.client("cho").rollback()
        await wait_until(pilot, lambda: "adapter base" in status_of(app), WAIT_S)
    assert registry.active() is None


async def test_a_server_lost_while_the_app_runs_is_one_notification(team, model, settings):
    server, thread, url = support.serve_in_thread(team.state)  # a second door to the same team
    app = DeskloopApp(settings, team=TeamServices(Client(url, team.tokens["ann"]), 0.2))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        server.should_exit = True
        thread.join(timeout=15)
        await wait_until(pilot, lambda: app.engine_status == "server unreachable", WAIT_S)
        await pilot.pause(1.0)  # several failed polls
        lost = [n for n in app._notifications if n.title == "Lost the deskloop server"]
        assert len(lost) == 1 and f"deskloop server at {url}" in str(lost[0].message)


async def test_a_refused_answer_is_the_servers_one_line(team, model, team_settings, settings):
    strict = support.make_state(team_settings, team.state.knowledge_base, model, rate_limit=1)
    server, thread, url = support.serve_in_thread(strict)
    app = DeskloopApp(settings, team=TeamServices(Client(url, team.tokens["ann"])))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await ask(pilot, QUESTION)
            second = await ask(pilot, QUESTION, wait=False)
            await wait_until(pilot, lambda: second.has_class("-failed"), WAIT_S)
            failed = [n for n in app._notifications if n.title == "The answer failed"]
            assert "more than 1 answers a minute" in str(failed[0].message)
            assert "ask an admin to look at the server's log" in str(failed[0].message)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def test_knowledge_shows_the_servers_sources_and_approved_answers_only_admins_ingest(
    team, model, settings, tmp_path
):
    more = tmp_path / "more-manuals"
    more.mkdir()
    shutil.copy(support.REPO / "corpora" / "manuals" / "cam-pairing.md", more)
    ann = team.app(settings)
    async with ann.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await ask(pilot, "How do I turn on two-factor authentication?")
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: view.turn.rating == "good", WAIT_S)

        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(ann.screen, KnowledgeScreen))
        sources = ann.screen.query_one("#knowledge-sources", DataTable)
        on_server = team.state.knowledge_base.sources()
        await wait_until(pilot, lambda: sources.row_count == len(on_server), WAIT_S)
        approved = ann.screen.query_one("#approved-answers", DataTable)
        entries = team.state.store.approved.entries()
        assert entries and approved.row_count == len(entries)
        assert approved.get_row_at(len(entries) - 1)[2:4] == ["flagged good", "ann"]

        await ingest(pilot, more)
        await wait_until(pilot, lambda: notified(ann, "this needs an admin token"), WAIT_S)
    assert len(team.state.knowledge_base.sources()) == len(on_server)

    cho = team.app(settings, "cho")
    async with cho.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(cho.screen, KnowledgeScreen))
        await ingest(pilot, more)
        await wait_until(pilot, lambda: notified(cho, "Ingest finished."), 120)
        sources = cho.screen.query_one("#knowledge-sources", DataTable)
        await wait_until(pilot, lambda: sources.row_count == len(on_server) + 1, WAIT_S)
    assert any(s.source.endswith("cam-pairing.md") for s in team.state.knowledge_base.sources())


async def ingest(pilot, path: Path) -> None:
    """Type a path on the knowledge screen and press Enter (the server reads it)."""
    box = pilot.app.screen.query_one("#ingest-path", Input)
    box.focus()
    box.value = str(path)
    await pilot.press("enter")


async def test_escalating_in_the_app_marks_the_conversation_on_the_server(team, model, settings):
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, QUESTION)
        conversation_id = app.chat_screen.conversation_id
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.screen.query("#escalate-note"))
        await pilot.press(*"billing dispute")
        await pilot.press("enter")
        store = team.state.store
        await wait_until(pilot, lambda: store.conversation(conversation_id).escalated_at, WAIT_S)
    escalated = store.conversation(conversation_id)
    assert escalated.escalation_note == "billing dispute" and escalated.actor == "ann"


async def test_training_in_team_mode_points_to_the_server(team, model, settings):
    app = team.app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        assert "'deskloop train'" in str(app.screen.query_one("#round-status").render())
        counts = team.state.store.feedback_counts()
        shown = str(app.screen.query_one("#feedback-counts").render())
        assert shown.startswith(f"The team's feedback: {counts['good']} good")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: notified(app, "the server trains"))
    assert not (settings.paths.root / "tui").exists()  # no local round was launched


async def test_a_refused_token_is_one_line_in_the_app(team, settings):
    app = team.app(settings, token="not-a-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine_status == "no server", WAIT_S)
        messages = [str(n.message) for n in app._notifications]
        assert any("refused the token" in m and "\n" not in m for m in messages)
        assert app.screen.query_one("#question").disabled


def test_a_refused_token_or_no_server_stops_bare_deskloop_before_the_app(
    team, settings, monkeypatch
):
    monkeypatch.setenv("DESKLOOP_SERVER", team.url)
    monkeypatch.setenv("DESKLOOP_TOKEN", "not-a-token")
    with pytest.raises(ServerError, match="refused the token: set DESKLOOP_TOKEN"):
        run_main_job(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("DESKLOOP_SERVER", f"http://127.0.0.1:{closed}")
    with pytest.raises(ServerError, match=r"cannot reach the deskloop server .*'deskloop serve'"):
        run_main_job(settings)
    assert not settings.paths.database.exists()  # no local first-run ingest either
