"""What the admin does while the agents work: ingest a folder through the server, run a
short training round on the same data dir and database, promote the new adapter.

The round runs as the local `deskloop train` command against the server's data dir and
database (the server's train endpoint is not used): the round's claim lives in the database,
so it is the same round whoever starts it.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.bad_input_suite import CLI
from bench.serve_agents import questions
from bench.serve_process import kill_group

NOTES_PER_FOLDER = 3
TRAIN_TIMEOUT_S = 1800.0


def notes_folder(folder: Path, phase: str) -> Path:
    """A folder of the team's own short notes, new to the index."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = questions()
    start = sum(map(ord, phase)) % len(rows)
    for i in range(NOTES_PER_FOLDER):
        row = rows[(start + i) % len(rows)]
        (folder / f"team-note-{phase}-{i + 1}.md").write_text(
            f"# Team note {phase} {i + 1}\n\n## {row['question']}\n\n{row['reference']}\n"
        )
    return folder


def admin_client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(900.0)
    )


def ingest(client: httpx.Client, folder: Path) -> dict:
    started = time.monotonic()
    response = client.post("/api/ingest", json={"paths": [str(folder)]})
    seconds = time.monotonic() - started
    if response.status_code != 200:
        return {"ok": False, "status": response.status_code, "seconds": round(seconds, 2)}
    report = response.json()
    return {
        "ok": report.get("ok", True) and not report.get("failed"),
        "files_indexed": report.get("files_indexed"),
        "chunks_added": report.get("chunks_added"),
        "seconds": round(seconds, 2),
    }


def promote(client: httpx.Client, version: str) -> dict:
    """Promote (forced past the gate: a round of a few steps rarely beats the base) and
    confirm that the server now lists it as the adapter in service."""
    response = client.post(f"/api/adapters/{version}/promote", json={"force": True})
    listed = client.get("/api/adapters")
    active = listed.json().get("active") if listed.status_code == 200 else None
    return {
        "ok": response.status_code == 200 and active == version,
        "status": response.status_code,
        "active": active,
        "forced": response.json().get("forced") if response.status_code == 200 else None,
    }


@dataclass
class TrainingRound:
    """`deskloop train` as a process of its own group: run it, or kill it mid-round."""

    env: dict
    args: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*CLI, "train", *self.args, "--json"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def finish(self, timeout: float = TRAIN_TIMEOUT_S) -> dict:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.process)
            return {"ok": False, "error": f"not done in {timeout:.0f} s", "seconds": timeout}
        seconds = round(time.monotonic() - self.started, 1)
        if self.process.returncode != 0:
            lines = [line for line in stderr.splitlines() if line.strip()]
            return {"ok": False, "error": lines[-1] if lines else "", "seconds": seconds}
        summary = json.loads(stdout)
        return {
            "ok": True,
            "version": summary.get("version"),
            "promoted_by_the_gate": summary.get("promoted"),
            "dataset": summary.get("dataset"),
            "seconds": seconds,
        }

    def kill(self) -> float:
        """SIGKILL the round; returns how long it had run."""
        kill_group(self.process)
        return round(time.monotonic() - self.started, 1)
