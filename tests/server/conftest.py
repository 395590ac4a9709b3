"""A real deskloop server on a free 127.0.0.1 port: real store, knowledge base (shipped
manuals, real MiniLM), grounding, users, queue and uvicorn; a scripted model generates."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from server_helpers import REPO, GatedModel, Running

from assistant.answering.grounder import Grounder
from assistant.app import open_store
from assistant.engine import ChatEngine
from assistant.grounding import KnowledgeBaseRetriever
from assistant.server import ServerState, create_app
from assistant.settings import Settings, load_settings
from assistant.users import Users

MANUALS = (
    "account-password-reset.md",
    "account-two-factor-authentication.md",
    "cam-night-vision.md",
)
START_TIMEOUT_S = 30
ROLES = {"ann": "agent", "bob": "agent", "cho": "admin"}


@pytest.fixture(scope="module")
def team_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("team-home")


@pytest.fixture(scope="module")
def team_settings(team_home) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DESKLOOP_CONFIG", str(team_home / "no-config.toml"))
        yield load_settings(home=team_home)


@pytest.fixture(scope="module")
def knowledge_base(team_settings, tmp_path_factory):
    from assistant.app import open_knowledge_base

    folder = tmp_path_factory.mktemp("manuals")
    for name in MANUALS:
        shutil.copy(REPO / "corpora" / "manuals" / name, folder / name)
    kb = open_knowledge_base(team_settings)
    report = kb.ingest([folder])
    assert report.ok and report.chunks_added > 0
    return kb


def make_state(settings: Settings, knowledge_base, model, rate_limit: int = 100) -> ServerState:
    embedder = knowledge_base.embedder
    grounder = Grounder(
        embedder.embed, settings.answers, knowledge_base.vocabulary, embedder.is_rare_word
    )
    engine = ChatEngine(
        model,
        open_store(settings),
        settings,
        KnowledgeBaseRetriever(knowledge_base),
        None,
        grounder,
    )
    return ServerState(settings, engine, knowledge_base, registry=None, rate_limit=rate_limit)


def serve_in_thread(state: ServerState) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(state), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def tokens(team_settings) -> dict[str, str]:
    """ann and bob are agents, cho an admin; all on the team's store."""
    users = Users(open_store(team_settings))
    return {name: users.add(name, role)[1] for name, role in ROLES.items()}


@pytest.fixture(scope="module")
def start_server(knowledge_base, team_settings, tokens):
    """start_server(model=None, rate_limit=100, **settings overrides) -> Running."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(model: GatedModel | None = None, rate_limit: int = 100, **overrides) -> Running:
        settings = team_settings.model_copy(update=overrides) if overrides else team_settings
        model = model or GatedModel()
        state = make_state(settings, knowledge_base, model, rate_limit)
        server, thread, url = serve_in_thread(state)
        started.append((server, thread))
        return Running(url, state, model, dict(tokens))

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=15)
    assert not any(thread.is_alive() for _, thread in started), "a test server did not stop"


@pytest.fixture(scope="module")
def server(start_server) -> Running:
    """The team's server, as configured by default (answers quote the evidence)."""
    return start_server()
