"""`deskloop users` and `deskloop serve` as people run them: real processes, real model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def env(isolated_home, tmp_path) -> dict:
    return {**os.environ, "DESKLOOP_HOME": str(isolated_home)}


def ingest_one_manual(env: dict, tmp_path: Path) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    name = "account-password-reset.md"
    (folder / name).write_text((REPO / "corpora" / "manuals" / name).read_text())
    assert cli("ingest", str(folder), env=env).returncode == 0


@pytest.fixture
def serve(env) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(extra_env: dict) -> str:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env={**env, **extra_env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"deskloop serve exited: {process.stderr.read()}")
            try:
                httpx.get(f"{url}/v1/models", timeout=2)
                return url
            except httpx.TransportError:
                time.sleep(0.5)
        raise AssertionError("deskloop serve did not start in time")

    yield start
    for process in processes:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_users_add_prints_a_token_once_and_keeps_only_its_hash(env, isolated_home):
    added = cli("users", "add", "ann", "--role", "admin", env=env)
    token = added.stdout.strip()
    assert added.returncode == 0 and len(token) >= 40 and "shown only now" in added.stderr
    listed = json.loads(cli("users", "list", "--json", env=env).stdout)
    assert listed == [
        {
            "name": "ann",
            "role": "admin",
            "created_at": listed[0]["created_at"],
            "created_by": None,
            "revoked_at": None,
            "active": True,
        }
    ]
    assert token not in (isolated_home / "deskloop.db").read_bytes().decode("latin-1")
    again = cli("users", "add", "ann", env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    revoked = json.loads(cli("users", "revoke", "ann", "--json", env=env).stdout)
    assert revoked["active"] is False
    bad_role = cli("users", "add", "bo", "--role", "root", env=env)
    assert bad_role.returncode == 1 and "role must be one of agent, admin" in bad_role.stderr


def answer_through(url: str, token: str) -> tuple[str, dict]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=token, timeout=120)
    completion = client.chat.completions.create(
        model="deskloop", messages=[{"role": "user", "content": "How do I reset my password?"}]
    )
    return completion.choices[0].message.content, completion.model_extra["deskloop"]


def test_deskloop_serve_answers_an_openai_client(env, serve, tiny_model_dir, tmp_path):
    ingest_one_manual(env, tmp_path)
    token = json.loads(cli("users", "add", "ann", "--json", env=env).stdout)["token"]
    url = serve({"DESKLOOP_MODEL": str(tiny_model_dir)})
    assert httpx.get(f"{url}/v1/models").status_code == 401
    answer, extra = answer_through(url, token)
    assert extra["status"] == "answered" and extra["model_id"] == "tiny-llama0"
    assert extra["grounding"]["cited"] and answer


@pytest.mark.slow
def test_the_embedded_model_answers_through_the_server(env, serve, tmp_path):
    ingest_one_manual(env, tmp_path)
    token = json.loads(cli("users", "add", "ann", "--json", env=env).stdout)["token"]
    url = serve({"DESKLOOP_ANSWERS__COMPOSE": "model"})
    answer, extra = answer_through(url, token)
    assert "SmolLM2" in extra["model_id"] and answer.strip()
    assert extra["status"] in ("answered", "declined")
    assert extra["grounding"] is not None
