"""The real `deskloop` command run as a process, locally or against a test server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLI_TIMEOUT_S = 600


def deskloop(
    *args: str, env: dict, check: bool = True, typed: str | None = None
) -> subprocess.CompletedProcess:
    """``typed``: what is typed at the terminal (stdin)."""
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=typed,
        timeout=CLI_TIMEOUT_S,
    )
    if check and run.returncode != 0:
        raise AssertionError(f"deskloop {' '.join(args)} exited {run.returncode}: {run.stderr}")
    return run


def document(*args: str, env: dict) -> dict | list:
    return json.loads(deskloop(*args, "--json", env=env).stdout)


def local_env(home: Path, **settings: str) -> dict:
    """deskloop on ``home`` with no server; ``settings``: DESKLOOP_* variables (names upper)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKLOOP_")}
    return {
        **env,
        "DESKLOOP_HOME": str(home),
        "DESKLOOP_CONFIG": str(home / "no-config.toml"),
        **{f"DESKLOOP_{name}": value for name, value in settings.items()},
    }


def remote_env(env: dict, url: str, token: str) -> dict:
    return {**env, "DESKLOOP_SERVER": url, "DESKLOOP_TOKEN": token}


def one_line_error(run: subprocess.CompletedProcess) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr
    return lines[0]


def shape(value):
    """A JSON document's structure: its keys all the way down, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "value"


def feedback_rows(count: int) -> list[dict]:
    rows = []
    for i in range(count):
        row = {
            "messages": [
                {"role": "user", "content": f"Customer {i}: why is camera {i} offline?"},
                {"role": "assistant", "content": f"Check the Wi-Fi signal near camera {i}."},
            ],
            "rating": "good" if i % 2 else "bad",
        }
        if not i % 2:
            row["correction"] = f"Restart camera {i}, then check the Wi-Fi signal."
        rows.append(row)
    return rows


def write_rows(path, rows: list[dict], broken: str = "") -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + broken, encoding="utf-8")
    return str(path)
