"""The server at rest: the real CLI's search against it, and what a stranger gets from it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from bench.bad_input_suite import CLI
from bench.chat_path_runs import percentile
from bench.serve_agents import questions
from bench.serve_process import ADMIN, ServerProcess, TeamHome


def time_cli_search(team: TeamHome, url: str, runs: int, progress) -> dict:
    """`deskloop search QUERY --json` as a new process each time, DESKLOOP_SERVER set;
    interleaved with a bare `python -c pass`, the floor any CLI command pays on this machine."""
    agent = team.agents[0]
    env = {**team.env, "DESKLOOP_SERVER": url, "DESKLOOP_TOKEN": team.tokens[agent]}
    rows = questions()
    seconds, failures, bare = [], [], []
    for i in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=60)
        bare.append(time.monotonic() - started)
        started = time.monotonic()
        done = subprocess.run(
            [*CLI, "search", rows[i % len(rows)]["question"], "-k", "5", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        seconds.append(time.monotonic() - started)
        if done.returncode != 0 or not json.loads(done.stdout or "[]"):
            failures.append(done.stderr.strip()[-300:])
    p50 = round(percentile(seconds, 50), 3) if seconds else None
    progress(f"CLI search through the server: p50 {p50} s over {runs} runs")
    return {
        "runs": runs,
        "p50_s": p50,
        "p95_s": round(percentile(seconds, 95), 3) if seconds else None,
        "python_start_p50_s": round(percentile(bare, 50), 3) if bare else None,
        "failures": len(failures),
        "failure_messages": failures[:3],
    }


def auth_probe(team: TeamHome, server: ServerProcess) -> dict:
    """No token and a wrong token get 401, an agent on an admin route 403; none of them data,
    and the server logs each."""
    agent = {"Authorization": f"Bearer {team.tokens[team.agents[0]]}"}
    logged_before = _refusals_logged(server)
    probes = {
        "no_token": httpx.get(f"{server.url}/api/conversations"),
        "wrong_token": httpx.get(
            f"{server.url}/api/conversations", headers={"Authorization": "Bearer wrong"}
        ),
        "agent_ingests": httpx.post(
            f"{server.url}/api/ingest", headers=agent, json={"paths": [str(team.home)]}
        ),
        "agent_adds_a_user": httpx.post(
            f"{server.url}/api/users", headers=agent, json={"name": "mallory", "role": ADMIN}
        ),
    }
    statuses = {name: response.status_code for name, response in probes.items()}
    expected = {"no_token": 401, "wrong_token": 401, "agent_ingests": 403, "agent_adds_a_user": 403}
    only_an_error = all(set(response.json()) == {"error"} for response in probes.values())
    time.sleep(0.5)  # the log is written by another process
    logged = _refusals_logged(server) - logged_before
    return {
        "statuses": statuses,
        "bodies_only_an_error": only_an_error,
        "refusals_logged": logged,
        "ok": statuses == expected and only_an_error and logged >= len(probes),
    }


def _refusals_logged(server: ServerProcess) -> int:
    lines = server.log_tail(10**8).splitlines()
    return sum(
        1 for line in lines if "deskloop.server" in line and (" 401 " in line or " 403 " in line)
    )
