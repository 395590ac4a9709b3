"""Training rounds as the TUI sees them: launched as detached processes, followed via events.jsonl.

A round is `deskloop train --json` in its own session, so closing the screen, the app or the
terminal does not stop it. Its progress is read back from the newest run's events.jsonl
(written by tuning), and its stdout/stderr go to a log under <home>/tui/ for errors that
happen before a run folder exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.settings import Settings

Event = dict[str, Any]
LAUNCH_FILE = "training-round.json"
CANDIDATE = "candidate"
BOX_CHARS = " \t│╭╮╰╯─┃━"


@dataclass
class Launch:
    """The last round started from the TUI."""

    pid: int
    log: Path
    started_at: float
    command: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "log": str(self.log),
            "started_at": self.started_at,
            "command": self.command,
        }


def launch_file(settings: Settings) -> Path:
    return settings.paths.root / "tui" / LAUNCH_FILE


def train_command(method: str, max_steps: int) -> list[str]:
    """The CLI command for one round (`python -m assistant.cli` is `deskloop`)."""
    return [
        sys.executable,
        "-m",
        "assistant.cli",
        "train",
        "--json",
        "--method",
        method,
        "--max-steps",
        str(max_steps),
    ]


def start_round(settings: Settings, method: str, max_steps: int) -> tuple[Launch, subprocess.Popen]:
    folder = launch_file(settings).parent
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = folder / f"train-{stamp}.log"
    command = train_command(method, max_steps)
    env = {**os.environ, "DESKLOOP_HOME": str(settings.paths.root)}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # no SIGHUP/SIGINT from our terminal: it outlives the app
            cwd=str(Path(__file__).resolve().parents[1]),
        )
    launch = Launch(process.pid, log, time.time(), command)
    launch_file(settings).write_text(json.dumps(launch.to_dict()), encoding="utf-8")
    return launch, process


def last_launch(settings: Settings) -> Launch | None:
    try:
        data = json.loads(launch_file(settings).read_text(encoding="utf-8"))
        return Launch(
            int(data["pid"]), Path(data["log"]), float(data["started_at"]), data["command"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_running(pid: int, process: subprocess.Popen | None = None) -> bool:
    if process is not None and process.pid == pid:
        return process.poll() is None
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def last_log_line(path: Path) -> str:
    """The most telling line of a round's log: its error if it has one, else its last line."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    lines = [line.strip(BOX_CHARS) for line in raw if not line.lstrip().startswith("{")]
    lines = [line for line in lines if line]
    for index in range(len(lines) - 1, -1, -1):
        if "error" in lines[index].lower():
            if lines[index].lower() == "error" and index + 1 < len(lines):
                return lines[index + 1]
            return lines[index]
    return lines[-1] if lines else ""


def newest_events(runs_root: Path) -> Path | None:
    """The events.jsonl written most recently (a resumed run is not the newest folder)."""
    if not runs_root.is_dir():
        return None
    files = [p for p in runs_root.glob("*/events.jsonl") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def read_events(path: Path) -> list[Event]:
    events = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return events
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line being written, or cut short by a kill
    return events


@dataclass
class RoundProgress:
    """What the training screen shows about one round, folded from its events."""

    run_id: str | None = None
    stage: str = ""
    step: int = 0
    max_steps: int = 0
    loss: float | None = None
    tokens_per_s: float | None = None
    eta_s: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)
    evals: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_progress: tuple[str, int, int] | None = None
    incumbent: str | None = None
    version: str | None = None
    promoted: bool | None = None
    finished: bool = False
    updated_at: float | None = None


def last_round(events: list[Event]) -> list[Event]:
    """The events of the newest round in a file (a resumed run continues the same round)."""
    start = 0
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "train_reused" or (kind == "train_start" and not event.get("resumed_from_step")):
            start = index
    return events[start:]


def fold(events: list[Event]) -> RoundProgress:
    progress = RoundProgress()
    evaluated: list[str] = []
    for event in last_round(events):
        kind = event.get("event")
        progress.updated_at = event.get("time", progress.updated_at)
        if kind == "train_start":
            progress.run_id = event.get("run_id")
            progress.stage = "training"
        elif kind == "train_reused":
            progress.run_id = event.get("run_id")
            progress.stage = "training (reused a finished run)"
        elif kind == "train_step":
            progress.step = int(event.get("step", 0))
            progress.max_steps = int(event.get("max_steps", 0))
            progress.loss = event.get("loss")
            progress.tokens_per_s = event.get("tokens_per_s")
            progress.eta_s = event.get("eta_s")
            if progress.loss is not None:
                progress.losses.append((progress.step, float(progress.loss)))
        elif kind == "train_end":
            progress.step = int(event.get("global_step", progress.step))
            progress.max_steps = max(progress.max_steps, progress.step)
            progress.eta_s = 0
            progress.stage = "trained"
        elif kind == "stage":
            progress.stage = str(event.get("stage", ""))
        elif kind == "eval_start":
            progress.eval_progress = (str(event.get("model")), 0, int(event.get("examples", 0)))
        elif kind == "eval_progress":
            progress.eval_progress = (
                str(event.get("model")),
                int(event.get("done", 0)),
                int(event.get("total", 0)),
            )
        elif kind == "eval_end":
            label = str(event.get("model"))
            evaluated.append(label)
            metrics = {k: v for k, v in event.items() if k not in ("event", "model", "time")}
            progress.evals[label] = metrics
            progress.eval_progress = None
        elif kind == "round_end":
            progress.version = event.get("version")
            progress.promoted = bool(event.get("promoted"))
            progress.finished = True
            progress.stage = "finished"
    incumbents = [label for label in evaluated if label != CANDIDATE]
    progress.incumbent = incumbents[0] if incumbents else None
    return progress
