"""`python -m bench serve`: the team server under load and under a SIGKILL.

A real `deskloop serve` process on a fresh data dir (the sample manuals and tickets
ingested, the embedded model), tokens made with `deskloop users add`, all on 127.0.0.1:

1. idle: start-up time and memory of the server's process tree with the model loaded; the
   real CLI `deskloop search` against it (DESKLOOP_SERVER, DESKLOOP_TOKEN), p50 / p95; that an
   unauthenticated or wrong-role request gets 401 / 403 and no data;
2. load, once per --agents count: N agents hold multi-turn conversations through the
   streamed /api/ask and flag some answers good or bad with a correction, while the admin
   ingests a folder through the server, a short training round runs on the same data dir
   and database (the local `deskloop train`) and its adapter is promoted through the
   server. Each agent asks at most --turns questions and starts none after --minutes; then
   the store must hold every acknowledged turn and flag exactly once;
3. fault: agents at work and a training round running, the server and the round are
   killed with SIGKILL; the server restarts on the same data dir: nothing acknowledged
   lost, no half-written exchange, it answers again, and the round run again completes.

Progress goes to stderr, one JSON document to stdout, with the issue's targets met / not met.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import machine
from bench.bad_input_suite import CODE_ROOT
from bench.chat_path_runs import percentile
from bench.fault_suite import FAST_TRAINING, tiny_model
from bench.serve_admin import TrainingRound, admin_client, ingest, notes_folder, promote
from bench.serve_agents import Crowd, Ledger
from bench.serve_check import check_store
from bench.serve_idle import auth_probe, time_cli_search
from bench.serve_process import CORPORA, ServerProcess, TeamHome, prepare_home

TARGETS = {
    "cli_search_p50_s": 0.3,
    "idle_rss_mb": 1536,  # 1.5 GB
}
LEDGER = "ledger.json"  # what the agents were acknowledged, in the workdir
DRAIN_S = 600.0
SETTLE_S = 10.0  # memory counts as settled when it grew under 5 MB in this long
SETTLE_LIMIT_S = 300.0  # the queue's own limit: agents still in line at the deadline finish
QUICK_MANUALS = ("account-password-reset.md", "cam-night-vision.md", "cloud-refund-policy.md")
SHORT_ROUND = {k: v for k, v in FAST_TRAINING.items() if k.startswith("DESKLOOP_TRAINING__")}
FAULT_AGENTS = 10
FAULT_TURNS = 1000  # agents in the fault phase work until the kill or the deadline
KILL_INTO_ROUND_S = (20.0, 60.0)  # the round is killed this far in (drawn), quick: 2-5 s


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench serve", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--agents", default="10,50", help="Agent counts, one load phase each.")
    parser.add_argument("--minutes", type=float, default=4.0, help="No new question after this.")
    parser.add_argument("--turns", type=int, default=6, help="Questions per agent at most.")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--compose",
        choices=("quote", "model", "free"),
        default=None,
        help="answers.compose for the server (default: the shipped setting).",
    )
    parser.add_argument("--train-steps", type=int, default=2, help="Steps of each round.")
    parser.add_argument(
        "--eval-limit", type=int, default=2, help="Examples each round's evaluation scores."
    )
    parser.add_argument("--search-runs", type=int, default=20, help="CLI searches timed.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="Keep the data dir, server log and ledger.json here (default: a temporary folder).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A tiny random model, three manuals, 2 agents, 1 turn, 1 minute: checks the "
        "benchmark itself, measures nothing worth reporting.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.agents, args.turns, args.minutes, args.search_runs = "2", 1, 1.0, 3
    try:
        args.agent_counts = [int(n) for n in args.agents.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--agents takes counts separated by commas, like 10,50; got {args.agents!r}")
    if not args.agent_counts or min(args.agent_counts) < 1:
        parser.error("--agents needs at least one count of 1 or more")
    return args


def progress(text: str) -> None:
    print(f"[bench serve {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """None: the SQLite file in the data dir; else a throwaway PostgreSQL database's URL."""
    if kind == "sqlite":
        yield None
        return
    sys.path.insert(0, str(CODE_ROOT / "tests"))
    try:
        from postgres import running_postgres
    finally:
        sys.path.remove(str(CODE_ROOT / "tests"))
    with running_postgres() as server:
        progress(f"PostgreSQL on 127.0.0.1:{server.port}")
        yield server.url(server.create_database())


def run(argv: list[str]) -> dict:
    args = parse(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        with database(args.database) as database_url:
            return measure(args, args.workdir, database_url)
    with (
        tempfile.TemporaryDirectory(prefix="deskloop-bench-serve-") as tmp,
        database(args.database) as database_url,
    ):
        return measure(args, Path(tmp), database_url)


def measure(args: argparse.Namespace, workdir: Path, database_url: str | None) -> dict:
    extra_env = dict(SHORT_ROUND)
    if database_url:
        extra_env["DESKLOOP_DATABASE_URL"] = database_url
    if args.compose:
        extra_env["DESKLOOP_ANSWERS__COMPOSE"] = args.compose
    if args.quick:
        extra_env.update(FAST_TRAINING, DESKLOOP_MODEL=str(tiny_model(workdir / "tiny-model")))
        manuals = [CORPORA / "manuals" / name for name in QUICK_MANUALS]
    else:
        manuals = [CORPORA / "manuals"]
    most = max(args.agent_counts)
    team = prepare_home(workdir, most, extra_env, manuals, not args.quick, progress)
    store_url = database_url or f"sqlite:///{team.home / 'deskloop.db'}"
    server = ServerProcess(team, workdir / "server.log")
    result: dict = {
        "benchmark": "serve",
        "config": {k: v for k, v in vars(args).items() if k not in ("agents", "workdir")},
        "machine": machine.describe(),
        "model": "tiny random Llama (--quick)" if args.quick else "embedded",
    }
    ledger = Ledger()
    try:
        result["idle"] = idle_phase(args, team, server)
        train_args = [
            *("--method", "lora", "--max-steps", str(args.train_steps)),
            *("--eval-limit", str(args.eval_limit)),
        ]
        result["load"] = {}
        for count in args.agent_counts:
            phase = f"{count}_agents"
            result["load"][phase] = load_phase(
                args, team, server, ledger, phase, count, train_args, workdir, store_url
            )
        result["fault"] = fault_phase(args, team, server, ledger, train_args, store_url)
        result["after_load_memory"] = server.memory_mb()
    finally:
        ledger.save(workdir / LEDGER)
        server.stop()
    result["machine"]["load_average_after"] = machine.describe()["load_average"]
    result["targets"] = targets(result)
    return result


def idle_phase(args, team: TeamHome, server: ServerProcess) -> dict:
    progress("starting deskloop serve")
    startup = server.start()
    progress(f"server up in {startup:.0f} s; waiting for its memory to settle")
    memory = settled_memory(server)
    progress(f"idle memory: {memory['rss_mb']} MB RSS, {memory['pss_mb']} MB PSS")
    search = time_cli_search(team, server.url, args.search_runs, progress)
    return {
        "startup_s": round(startup, 1),
        "memory": memory,
        "cli_search": search,
        "auth": auth_probe(team, server),
    }


def settled_memory(server: ServerProcess) -> dict:
    """The tree's memory once it has not grown for SETTLE_S: the server may still be
    preparing its serving form of the model when it starts answering HTTP."""
    started = time.monotonic()
    samples = [server.memory_mb()]
    while time.monotonic() - started < SETTLE_LIMIT_S:
        time.sleep(SETTLE_S / 5)
        samples.append(server.memory_mb())
        recent = samples[-6:]
        if len(recent) == 6 and recent[-1]["rss_mb"] - recent[0]["rss_mb"] <= 5:
            break
    return {
        **samples[-1],
        "first_rss_mb": samples[0]["rss_mb"],
        "settled_after_s": round(time.monotonic() - started, 1),
    }


def load_phase(args, team, server, ledger, phase, count, train_args, workdir, store_url) -> dict:
    tokens = {name: team.tokens[name] for name in team.agents[:count]}
    progress(f"{phase}: {count} agents, at most {args.turns} questions each, {args.minutes} min")
    started = time.monotonic()
    crowd = Crowd(
        server.url, tokens, args.turns, started + args.minutes * 60, phase, ledger, args.seed
    )
    crowd.start()
    admin = admin_client(server.url, team.tokens["admin"])
    time.sleep(3)  # the agents are asking
    ingested = ingest(admin, notes_folder(workdir / f"notes-{phase}", phase))
    progress(f"{phase}: admin ingested a folder in {ingested['seconds']} s; training a round")
    training = TrainingRound(team.env, train_args)
    training.start()
    trained = training.finish()
    promoted = promote(admin, trained["version"]) if trained["ok"] else {"ok": False}
    progress(
        f"{phase}: round {trained.get('version')} in {trained['seconds']} s, "
        f"promoted: {promoted['ok']}"
    )
    drained = crowd.join(max(0.0, crowd.deadline - time.monotonic()) + DRAIN_S)
    if not drained:
        crowd.stop.set()
        crowd.join(60)
    seconds = crowd.seconds
    done = ledger.of_phase(phase)
    progress(
        f"{phase}: {len(done['answers'])} answers, {len(done['failures'])} errors "
        f"in {seconds:.0f} s; checking the store"
    )
    check = check_store(store_url, ledger.answers, ledger.flags, team.agents)
    return {
        **figures(done, seconds),
        "all_agents_finished": drained,
        "admin_ingest": ingested,
        "training_round": trained,
        "promotion": promoted,
        "store_check": check,
    }


def figures(done: dict, seconds: float) -> dict:
    answers = done["answers"]

    def spread(values: list[float]) -> dict:
        if not values:
            return {"p50": None, "p95": None}
        return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3)}

    return {
        "answers": len(answers),
        "flags": len(done["flags"]),
        "errors": len(done["failures"]),
        "error_messages": sorted({f.message for f in done["failures"]})[:5],
        "seconds": round(seconds, 1),
        "answers_per_minute": round(len(answers) / seconds * 60, 2) if seconds else None,
        "queue_wait_s": spread([a.queue_wait_s for a in answers]),
        "first_token_s": spread([a.first_token_s for a in answers if a.first_token_s is not None]),
        "end_to_end_s": spread([a.end_to_end_s for a in answers]),
        "most_ahead_in_queue": max((a.most_ahead for a in answers), default=0),
        "statuses": _count(answers),
    }


def _count(answers) -> dict:
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


def fault_phase(args, team, server, ledger, train_args, store_url) -> dict:
    phase = "fault"
    count = min(FAULT_AGENTS, max(args.agent_counts))
    tokens = {name: team.tokens[name] for name in team.agents[:count]}
    rng = random.Random(args.seed)
    kill_into_round = rng.uniform(*((2.0, 5.0) if args.quick else KILL_INTO_ROUND_S))
    progress(
        f"fault: {count} agents and a training round; "
        f"SIGKILL {kill_into_round:.0f} s into the round"
    )
    started = time.monotonic()
    crowd = Crowd(
        server.url,
        tokens,
        FAULT_TURNS,
        started + args.minutes * 60,
        phase,
        ledger,
        args.seed,
        stop_on_failure=True,
    )
    crowd.start()
    training = TrainingRound(team.env, train_args)
    training.start()
    while time.monotonic() < crowd.deadline:
        answered = len(ledger.of_phase(phase)["answers"])
        into_round = time.monotonic() - training.started
        if answered >= 1 and into_round >= kill_into_round and ledger.in_flight > 0:
            break
        time.sleep(0.01)
    in_flight = ledger.in_flight
    server.kill()
    round_ran = training.kill()
    progress(
        f"fault: killed the server ({in_flight} requests in flight) "
        f"and the round after {round_ran} s"
    )
    crowd.stop.set()
    crowd.join(120)
    done = ledger.of_phase(phase)
    restart = server.start()
    progress(f"fault: server restarted in {restart:.0f} s; checking the store")
    check = check_store(
        store_url, ledger.answers, ledger.flags, team.agents, unacknowledged_allowed=True
    )
    answers_again = answer_once(server.url, team.tokens[team.agents[0]])
    progress("fault: running the killed round again")
    again = TrainingRound(team.env, train_args)
    again.start()
    rerun = again.finish()
    progress(f"fault: the round again: ok={rerun['ok']} in {rerun['seconds']} s")
    return {
        "agents": count,
        "answers_before_kill": len(done["answers"]),
        "flags_before_kill": len(done["flags"]),
        "requests_in_flight_at_kill": in_flight,
        "requests_cut_off": len(done["failures"]),
        "round_killed_after_s": round_ran,
        "restart_s": round(restart, 1),
        "answers_after_restart": answers_again,
        "store_check": check,
        "round_run_again": rerun,
    }


def answer_once(url: str, token: str) -> bool:
    from assistant.client import Client

    events = [kind for kind, _ in Client(url, token).ask("How do I reset my password?", None, None)]
    return events[-1:] == ["done"]


def targets(result: dict) -> dict:
    loads = result["load"]
    fault = result["fault"]
    idle = result["idle"]

    def mark(met: bool, value, target) -> dict:
        return {"value": value, "target": target, "met": bool(met)}

    marks = {}
    for phase, load in loads.items():
        counts = load["store_check"]["counts"]
        lost = (
            counts["lost"]
            + counts["duplicated"]
            + counts["half_written"]
            + counts["unacknowledged"]
        )
        marks[f"errors_and_lost_or_duplicated_{phase}"] = mark(
            load["errors"] == 0 and lost == 0 and load["store_check"]["ok"],
            {"errors": load["errors"], "lost_or_duplicated": lost},
            "0 / 0",
        )
    counts = fault["store_check"]["counts"]
    lost = counts["lost"] + counts["duplicated"] + counts["half_written"]
    marks["acknowledged_lost_after_sigkill"] = mark(
        lost == 0 and fault["answers_after_restart"] and fault["round_run_again"]["ok"],
        {
            "lost_duplicated_or_half_written": lost,
            "answers_after_restart": fault["answers_after_restart"],
            "round_run_again": fault["round_run_again"]["ok"],
        },
        "0, answering again, the round completes",
    )
    p50 = idle["cli_search"]["p50_s"]
    marks["cli_search_p50_s"] = mark(
        p50 is not None and p50 <= TARGETS["cli_search_p50_s"], p50, TARGETS["cli_search_p50_s"]
    )
    rss = idle["memory"]["rss_mb"]
    marks["server_idle_rss_mb"] = mark(rss <= TARGETS["idle_rss_mb"], rss, TARGETS["idle_rss_mb"])
    marks["unauthenticated_or_wrong_role"] = mark(
        idle["auth"]["ok"], idle["auth"]["statuses"], "401 / 403, no data, logged"
    )
    first = next(iter(loads.values()))
    marks["throughput_reported"] = mark(
        first["answers"] > 0,
        {
            "answers_per_minute": first["answers_per_minute"],
            "queue_wait_p95_s": first["queue_wait_s"]["p95"],
        },
        "reported",
    )
    return marks


def main(argv: list[str]) -> int:
    import json

    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
