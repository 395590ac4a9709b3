"""The team server as people run it: a data dir prepared with `deskloop` commands, then
`deskloop serve` as a real process on a free loopback port, started, killed and restarted.

Every process gets its own process group, so SIGKILL reaches its children too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.bad_input_suite import CLI, CODE_ROOT, base_env

CORPORA = CODE_ROOT / "corpora"
START_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 30.0
ADMIN = "admin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deskloop(argv: list[str], env: dict, timeout: float = 900.0) -> subprocess.CompletedProcess:
    """Run `deskloop ARGV` to the end; a failure raises with its last lines."""
    done = subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"deskloop {' '.join(argv[:3])} failed: {done.stderr.strip()[-800:]}")
    return done


@dataclass
class TeamHome:
    home: Path
    env: dict
    tokens: dict[str, str]  # user name -> token; ADMIN is the admin

    @property
    def agents(self) -> list[str]:
        return sorted(name for name in self.tokens if name != ADMIN)


def agent_names(count: int) -> list[str]:
    return [f"agent-{i:02d}" for i in range(1, count + 1)]


def prepare_home(
    workdir: Path,
    agents: int,
    extra_env: dict[str, str],
    manuals: list[Path],
    tickets: bool,
    progress,
) -> TeamHome:
    """A fresh data dir: the sample manuals (and tickets) ingested, an admin and `agents`
    agents added with `deskloop users add` (their tokens kept for the simulated agents)."""
    home = workdir / "home"
    env = {**base_env(home, workdir / "no-config.toml"), **extra_env}
    started = time.monotonic()
    deskloop(["ingest", *(str(path) for path in manuals)], env)
    if tickets:
        deskloop(["ingest", "--tickets", str(CORPORA / "tickets" / "tickets.csv")], env)
    progress(f"ingested the sample corpora in {time.monotonic() - started:.0f} s")

    def add(name: str, role: str) -> tuple[str, str]:
        added = deskloop(["users", "add", name, "--role", role, "--json"], env)
        return name, json.loads(added.stdout)["token"]

    people = [(ADMIN, "admin")] + [(name, "agent") for name in agent_names(agents)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        tokens = dict(pool.map(lambda person: add(*person), people))
    progress(f"added {len(tokens)} users with 'deskloop users add'")
    return TeamHome(home, env, tokens)


class ServerProcess:
    """`deskloop serve` on one port of 127.0.0.1; start, SIGKILL, start again on the same home."""

    def __init__(self, team: TeamHome, log: Path):
        self.team = team
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start and wait until it answers HTTP; returns the seconds that took."""
        started = time.monotonic()
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.team.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        while time.monotonic() - started < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"deskloop serve exited: {self.log_tail()}")
            try:
                httpx.get(f"{self.url}/v1/models", timeout=2)  # 401 without a token: it is up
                return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.25)
        self.kill()
        raise RuntimeError(f"deskloop serve did not start in {START_TIMEOUT_S:.0f} s")

    def kill(self) -> None:
        """SIGKILL the server and everything it started."""
        if self.process is None or self.process.poll() is not None:
            return
        kill_group(self.process)

    def stop(self) -> None:
        """Stop as an operator would (Ctrl-C), SIGKILL if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            kill_group(self.process)

    def memory_mb(self) -> dict:
        """RSS (and PSS, which counts shared pages once) of the server's process tree."""
        import psutil

        root = psutil.Process(self.process.pid)
        tree = [root, *root.children(recursive=True)]
        rss = pss = 0
        for process in tree:
            try:
                info = process.memory_full_info()
            except psutil.Error:
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        return {"rss_mb": round(rss / 2**20), "pss_mb": round(pss / 2**20), "processes": len(tree)}

    def log_tail(self, chars: int = 1500) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_S)
