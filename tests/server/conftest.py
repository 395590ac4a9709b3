"""A real deskloop server on a free 127.0.0.1 port: real store, knowledge base (shipped
manuals, real MiniLM), grounding, users, queue and uvicorn; a scripted model generates.

The modules in BOTH_BACKENDS (those that change the store through the server: chat,
feedback, users, ingest, adapters) run twice: on the SQLite file in the data dir, then on a
database of their own on the tests' real PostgreSQL server (tests/postgres.py; in CI a
missing server fails them). The others compare the server with local commands on the same
data dir, whose store is the SQLite file, and run on SQLite only.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from postgres import BACKENDS
from server_helpers import REPO, GatedModel, Running

from assistant.answering.grounder import knowledge_base_grounder
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
BOTH_BACKENDS = {
    "test_server_api",
    "test_server_auth",
    "test_server_adapters",
    "test_server_ingest",
    "test_server_openai",
}


def pytest_generate_tests(metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_backend" in metafunc.fixturenames and module in BOTH_BACKENDS:
        metafunc.parametrize("store_backend", BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def store_backend(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="module")
def team_database(request, store_backend) -> Iterator[str | None]:
    """The team's database_url: None (the SQLite file in the data dir) or a PostgreSQL
    database of this module's own, dropped afterwards."""
    if store_backend == "sqlite":
        yield None
        return
    postgres = request.getfixturevalue("postgres_server")
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="module")
def team_home(tmp_path_factory, store_backend) -> Path:
    return tmp_path_factory.mktemp(f"team-home-{store_backend}")


@pytest.fixture(scope="module")
def team_settings(team_home, team_database) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DESKLOOP_CONFIG", str(team_home / "no-config.toml"))
        yield load_settings(home=team_home, database_url=team_database)


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
    grounder = knowledge_base_grounder(knowledge_base, settings.answers)
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
