"""The command line as users and scripts call it: JSON on stdout, one-line errors, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.store import Store


def deskloop(*args: str, env_extra: dict | None = None, check: bool = True):
    import os

    env = {**os.environ, **(env_extra or {})}
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and run.returncode != 0:
        raise AssertionError(f"deskloop {' '.join(args)} failed: {run.stderr}")
    return run


def one_line_error(run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_config_prints_effective_settings_and_paths(isolated_home):
    document = json.loads(deskloop("config", "--json").stdout)
    assert document["paths"]["home"] == str(isolated_home)
    assert document["settings"]["model"] == "embedded"
    assert document["settings"]["retrieval"]["top_k"] == 4


def test_invalid_setting_fails_at_start_with_one_line(monkeypatch):
    run = deskloop("history", env_extra={"DESKLOOP_DTYPE": "float8"}, check=False)
    assert run.returncode == 1
    assert "DESKLOOP_DTYPE" in one_line_error(run)


def test_flagging_an_unknown_turn_is_a_one_line_error():
    run = deskloop("feedback", "flag", "999999", "--bad", check=False)
    assert run.returncode == 1
    assert "no turn 999999" in one_line_error(run)


def test_an_unknown_model_path_is_a_one_line_error():
    run = deskloop("ask", "hi", env_extra={"DESKLOOP_MODEL": "/no/such/model"}, check=False)
    assert run.returncode == 1
    assert "DESKLOOP_MODEL" in one_line_error(run)


@pytest.fixture
def tiny_env(tiny_model_dir) -> dict:
    # Sampling (seeded) so the random weights do not settle on whitespace.
    return {
        "DESKLOOP_MODEL": str(tiny_model_dir),
        "DESKLOOP_GENERATION__MAX_NEW_TOKENS": "8",
        "DESKLOOP_GENERATION__TEMPERATURE": "1.0",
    }


def test_ask_json_then_follow_up_then_flag(tiny_env, isolated_home):
    first = json.loads(
        deskloop("ask", "How do I reset my password?", "--json", env_extra=tiny_env).stdout
    )
    assert first["answer"] and first["conversation_id"] and first["turn_id"]
    assert first["model_id"] == "tiny-llama0"  # the model folder's name
    assert first["adapter"] == "base"
    assert set(first["timings"]) >= {"first_token_s", "total_s", "tokens_per_s"}

    follow = deskloop(
        "ask",
        "and how long does it take?",
        "--conversation",
        first["conversation_id"],
        "--json",
        env_extra=tiny_env,
    )
    second = json.loads(follow.stdout)
    assert second["conversation_id"] == first["conversation_id"]
    assert second["timings"]["prompt_tokens"] > first["timings"]["prompt_tokens"]

    flagged = json.loads(
        deskloop(
            "feedback",
            "flag",
            str(second["turn_id"]),
            "--bad",
            "--reason",
            "incomplete",
            "--correction",
            "About five minutes.",
            "--json",
        ).stdout
    )
    assert flagged["rating"] == "bad" and flagged["correction"] == "About five minutes."
    store = Store(isolated_home / "deskloop.db")
    assert len(store.turns(first["conversation_id"])) == 4
    history = json.loads(deskloop("history", first["conversation_id"], "--json").stdout)
    assert [t["role"] for t in history["turns"]] == ["user", "assistant"] * 2
    assert history["turns"][3]["rating"] == "bad"


def test_ask_on_an_unknown_conversation_is_a_one_line_error(tiny_env):
    run = deskloop("ask", "hi", "--conversation", "nope", env_extra=tiny_env, check=False)
    assert run.returncode == 1
    assert "no conversation 'nope'" in one_line_error(run)


def test_ingest_reports_a_bad_file_exits_2_and_search_finds_the_rest(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text(
        "# Refunds\n\nRefunds arrive in five to ten business days after approval.\n"
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 this is not really a pdf")
    run = deskloop("ingest", str(folder), "--json", check=False)
    assert run.returncode == 2
    report = json.loads(run.stdout)
    assert report["chunks_added"] >= 1
    assert [Path(f["path"]).name for f in report["failed"]] == ["broken.pdf"]
    assert report["failed"][0]["reason"]

    hits = json.loads(deskloop("search", "how long do refunds take", "--json").stdout)
    assert Path(hits[0]["source"]).name == "refunds.md"
    assert set(hits[0]) >= {"id", "record_id", "source", "title", "score", "text"}

    again = json.loads(deskloop("ingest", str(folder / "refunds.md"), "--json").stdout)
    assert again["chunks_added"] == 0 and again["files_unchanged"] == 1
