"""The command line with DESKLOOP_SERVER set: the local commands' documents, from the server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

VOLATILE = {"conversation_id", "turn_id", "question_turn_id", "timings", "model_id"}


def deskloop(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and run.returncode != 0:
        raise AssertionError(f"deskloop {' '.join(args)} failed: {run.stderr}")
    return run


@pytest.fixture
def local_env(team_home, tiny_model_dir) -> dict:
    """The same data directory the server uses, without a server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKLOOP_")}
    return {
        **env,
        "DESKLOOP_HOME": str(team_home),
        "DESKLOOP_CONFIG": str(team_home / "no-config.toml"),
        "DESKLOOP_MODEL": str(tiny_model_dir),
    }


@pytest.fixture
def remote_env(local_env, server) -> dict:
    return {**local_env, "DESKLOOP_SERVER": server.url, "DESKLOOP_TOKEN": server.tokens["ann"]}


def one_line_error(run: subprocess.CompletedProcess) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr
    return lines[0]


def test_search_through_the_server_prints_the_local_document(local_env, remote_env):
    args = ("search", "how do I turn on night vision", "-k", "3", "--json")
    local = json.loads(deskloop(*args, env=local_env).stdout)
    remote = json.loads(deskloop(*args, env=remote_env).stdout)
    assert remote == local and len(local) == 3


def test_ask_through_the_server_prints_the_local_document(local_env, remote_env, server):
    args = ("ask", "How do I reset my password?", "--json")
    local = json.loads(deskloop(*args, env=local_env).stdout)
    remote = json.loads(deskloop(*args, env=remote_env).stdout)
    assert set(remote) == set(local)
    assert {k: v for k, v in remote.items() if k not in VOLATILE} == {
        k: v for k, v in local.items() if k not in VOLATILE
    }
    assert remote["status"] == "answered" and remote["sources"]
    assert server.state.store.turn(remote["turn_id"]).actor == "ann"
    assert server.state.store.turn(local["turn_id"]).actor is None


def test_flag_through_the_server_records_who(remote_env, server):
    asked = json.loads(
        deskloop("ask", "How do I reset my password?", "--json", env=remote_env).stdout
    )
    run = deskloop("feedback", "flag", str(asked["turn_id"]), "--good", env=remote_env)
    assert run.stdout.startswith(f"Turn {asked['turn_id']} flagged good")
    assert server.state.store.turn(asked["turn_id"]).flagged_by == "ann"


def test_ask_in_the_terminal_streams_the_answer_and_the_footer(remote_env):
    run = deskloop("ask", "How do I reset my password?", env=remote_env)
    assert "[" in run.stdout and "password" in run.stdout.lower()
    assert "turn " in run.stderr and "conversation " in run.stderr


def test_an_unreachable_server_is_one_line_that_says_what_to_do(remote_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once it is closed
    env = {**remote_env, "DESKLOOP_SERVER": f"http://127.0.0.1:{closed}"}
    for args in (("search", "password"), ("ask", "hi"), ("feedback", "flag", "1", "--good")):
        run = deskloop(*args, env=env, check=False)
        line = one_line_error(run)
        assert run.returncode == 1
        assert "cannot reach the deskloop server" in line and "deskloop serve" in line


def test_a_wrong_token_or_none_is_one_line(remote_env):
    run = deskloop("search", "password", env={**remote_env, "DESKLOOP_TOKEN": "nope"}, check=False)
    assert run.returncode == 1 and "refused the token" in one_line_error(run)
    env = {k: v for k, v in remote_env.items() if k != "DESKLOOP_TOKEN"}
    run = deskloop("search", "password", env=env, check=False)
    assert run.returncode == 1 and "DESKLOOP_TOKEN" in one_line_error(run)


def test_server_errors_come_back_as_the_local_one_line(remote_env):
    run = deskloop("feedback", "flag", "999999", "--bad", env=remote_env, check=False)
    assert run.returncode == 1 and "no turn 999999" in one_line_error(run)
