"""The real `deskloop` in a real terminal (tmux): ask, flag bad with a correction, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import model_prep
from assistant.app import open_knowledge_base
from assistant.settings import load_settings
from assistant.store import Store

ROOT = Path(__file__).resolve().parents[2]
MANUAL = """# Resetting your Korvo account password

Open the Korvo app, tap Settings, then Security, then Reset password.
A reset link arrives by e-mail within five minutes and works for one hour.
"""
QUESTION = "How do I reset my Korvo password?"
CORRECTION = "Open Settings, then Security, then Reset password; the link works for one hour."

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """One tmux server of our own (a private socket) running one command."""

    def __init__(self, command: list[str], env: dict[str, str], size=(100, 30)):
        self.socket = f"deskloop-test-{uuid.uuid4().hex[:8]}"
        environment = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        line = f"cd {_quote(str(ROOT))} && env {environment} {' '.join(map(_quote, command))}"
        self.tmux("new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), line)
        self.tmux("set-option", "-g", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            assert "Traceback" not in screen, screen
            if predicate(screen):
                return screen
            time.sleep(0.25)
        raise AssertionError(f"waited {timeout}s for {what}; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        self.tmux("kill-server")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def deskloop_command() -> list[str]:
    script = Path(sys.executable).parent / "deskloop"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "assistant.cli"]


def prepare_home(home: Path) -> None:
    """A data dir with one manual indexed (so the first run does not index the samples)."""
    manuals = home.parent / "manuals"
    manuals.mkdir(parents=True, exist_ok=True)
    (manuals / "password.md").write_text(MANUAL, encoding="utf-8")
    os.environ["DESKLOOP_HOME"] = str(home)  # isolated_home restores it after the test
    report = open_knowledge_base(load_settings()).ingest([manuals])
    assert report.ok, report.failed


def ask_flag_and_quit(home: Path, model: str | None, timeout: float) -> None:
    env = {
        "DESKLOOP_HOME": str(home),
        "DESKLOOP_CONFIG": str(home.parent / "no-config.toml"),
        "DESKLOOP_GENERATION__MAX_NEW_TOKENS": "24",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TERM": "xterm-256color",
    }
    if model is not None:
        env["DESKLOOP_MODEL"] = model
    terminal = Terminal(deskloop_command(), env)
    try:
        terminal.wait_for(lambda s: "Customer message" in s, "the chat screen", 60)
        terminal.wait_for(lambda s: "ready" in s, "the model to load", timeout)
        terminal.type(QUESTION)
        terminal.keys("C-s")
        terminal.wait_for(lambda s: "deskloop #2" in s, "the recorded answer", timeout)
        terminal.keys("C-b")
        terminal.wait_for(lambda s: "Flag answer #2 as bad" in s, "the flag dialog", 20)
        terminal.keys("C-l")
        terminal.type(CORRECTION)
        terminal.keys("C-s")
        terminal.wait_for(lambda s: "flagged bad" in s, "the flag on the message", 20)
        terminal.keys("C-q")
        terminal.wait_for(lambda s: "Customer message" not in s, "deskloop to quit", 30)
    finally:
        terminal.close()

    store = Store(home / "deskloop.db")
    [conversation] = store.conversations()
    question, answer = store.turns(conversation.id)
    assert question.content == QUESTION
    assert (answer.id, answer.rating, answer.reason) == (2, "bad", "incorrect")
    assert answer.correction == CORRECTION


def test_ask_and_flag_in_a_real_terminal_on_the_tiny_model(tmp_path, tiny_model_dir):
    home = tmp_path / "home"
    prepare_home(home)
    ask_flag_and_quit(home, str(tiny_model_dir), timeout=90)


@pytest.mark.slow
def test_ask_and_flag_in_a_real_terminal_on_the_embedded_model(tmp_path):
    home = tmp_path / "home"
    os.environ["DESKLOOP_HOME"] = str(home)
    model_prep.prepare_base_model(load_settings())
    prepare_home(home)
    ask_flag_and_quit(home, None, timeout=240)
