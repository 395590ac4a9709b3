"""The fault suite: `deskloop` commands killed with SIGKILL at random (seeded) moments.

Operations: ingest, ask (an answer being written), flag, approved-answer edit, a training
round, evaluation, promotion and export. Each runs as a real process in its own data dir
(copied from one prepared base home); after every kill the invariants are checked:

- exchanges: every question turn has its answer turn (turns alternate user/assistant);
- chunks: no (source, chunk position) twice in the index, no source mixing two versions;
- adapter: the one in service is unchanged unless the killed run was a promotion (then it
  is the old or the new one), and every registered version is readable;
- flag / edit: a flag and the approved answer it makes agree; an approved answer is the old
  text or one of the new ones, never empty or mixed;
- export: the output file is absent or complete (byte-identical to a finished export);
- a run that exits on its own after an earlier kill must succeed, and after all kills one
  more run of the same command must succeed (resume or clean start).

`concurrent_writers` runs an ask loop, a flag loop and an ingest at once and checks that no
process saw "database is locked" and that nothing was lost.

The processes use a tiny random-weight Llama (tests/tiny_model.py) for ask, train and eval:
what is measured is how state survives a kill, not answer quality, and the tiny model keeps
a run to seconds. Retrieval uses the packaged MiniLM as in service.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.bad_input_suite import CLI, CODE_ROOT, TRACEBACK, base_env

OPERATIONS = ("ingest", "ask", "flag", "approved_edit", "train", "eval", "promote", "export")
MANUALS = CODE_ROOT / "corpora" / "manuals"
BASE_MANUALS = ("account-password-reset.md", "cloud-refund-policy.md", "cam-pairing.md")
FAST_TRAINING = {  # as tests/tuning's tiny_settings: a round of a few seconds
    "DESKLOOP_DEVICE": "cpu",
    "DESKLOOP_SERVING": "plain",
    "DESKLOOP_GENERATION__MAX_NEW_TOKENS": "6",
    "DESKLOOP_TRAINING__BATCH_SIZE": "2",
    "DESKLOOP_TRAINING__GRAD_ACCUM": "1",
    "DESKLOOP_TRAINING__MAX_LENGTH": "384",
    "DESKLOOP_TRAINING__LORA_R": "4",
    "DESKLOOP_TRAINING__LORA_ALPHA": "8",
    "DESKLOOP_TRAINING__EVAL_FRACTION": "0.25",
}
TRAIN_ARGS = ["train", "--method", "lora", "--max-steps", "4", "--no-seeds", "--eval-limit", "2"]


def tiny_model(folder: Path) -> Path:
    """The tests' tiny random Llama, built once into `folder`."""
    done = folder / "config.json"
    if done.is_file():
        return folder
    sys.path.insert(0, str(CODE_ROOT / "tests"))
    try:
        from tiny_model import build_tiny_model
    finally:
        sys.path.remove(str(CODE_ROOT / "tests"))
    return build_tiny_model(folder)


# ---------------------------------------------------------------- processes


@dataclass
class Run:
    argv: list[str]
    code: int | None  # None: killed
    seconds: float
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code is None


def run_command(argv: list[str], env: dict, kill_after: float | None = None, timeout=600.0) -> Run:
    """Run `deskloop ARGV`; with kill_after, SIGKILL it (and its children) at that moment."""
    start = time.monotonic()
    process = subprocess.Popen(
        [*CLI, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=Path(env["DESKLOOP_HOME"]).parent,
        start_new_session=True,  # its own process group: the kill reaches its children
    )
    try:
        stdout, stderr = process.communicate(timeout=kill_after or timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None if kill_after else -9
    return Run(
        argv,
        code,
        time.monotonic() - start,
        stdout.decode(errors="replace"),
        stderr.decode(errors="replace"),
    )


def checked(argv: list[str], env: dict) -> Run:
    result = run_command(argv, env)
    if result.code != 0:
        raise RuntimeError(f"deskloop {' '.join(argv[:3])} failed: {result.stderr[-800:]}")
    return result


# ---------------------------------------------------------------- the base home


@dataclass
class BaseHome:
    home: Path
    env: dict
    data: Path
    turn_id: int  # an answer turn to flag
    approved_id: int
    version: str  # a registered adapter (rejected by the gate: promoted with --force)
    eval_file: Path
    export_reference: bytes
    durations: dict[str, float] = field(default_factory=dict)


def feedback_rows(count: int = 16) -> list[dict]:
    topics = [
        ("How do I reset my password?", "Open Settings, choose Account, then Security."),
        ("Where is my refund?", "Refunds arrive in five to ten business days."),
        ("Why is my camera offline?", "Check the Wi-Fi signal and restart the camera."),
        ("How do I pair the hub?", "Hold the pair button until the LED blinks blue."),
    ]
    rows = []
    for i in range(count):
        question, answer = topics[i % len(topics)]
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"{question} (case {i})"},
                    {"role": "assistant", "content": answer},
                ],
                "rating": "good" if i % 3 else "bad",
                "correction": None if i % 3 else f"{answer} Then try again ({i}).",
                "conversation_id": f"imported-{i}",
            }
        )
    return rows


def prepare_base_home(workdir: Path, model_dir: Path, progress=print) -> BaseHome:
    """A data dir with manuals indexed, an answered and flagged question (an approved
    answer), imported feedback and one trained adapter; also times each command once."""
    home = workdir / "base-home"
    shutil.rmtree(home, ignore_errors=True)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **base_env(home, workdir / "no-config.toml"),
        "DESKLOOP_MODEL": str(model_dir),
        **FAST_TRAINING,
    }
    durations: dict[str, float] = {}

    def timed(name: str, argv: list[str]) -> Run:
        result = checked(argv, env)
        durations[name] = result.seconds
        progress(f"base home: {name} {result.seconds:.1f} s")
        return result

    timed("ingest", ["ingest", *(str(MANUALS / name) for name in BASE_MANUALS)])
    asked = json.loads(timed("ask", ["ask", "How do I reset my password?", "--json"]).stdout)
    turn_id = asked["turn_id"]
    flagged = json.loads(
        timed("flag", ["feedback", "flag", str(turn_id), "--good", "--json"]).stdout
    )
    approved_id = flagged["approved_answer"]["id"]
    edit = ["approved", "edit", str(approved_id), "--answer", "Open Settings, then Security."]
    timed("approved_edit", edit)
    feedback = data / "feedback.jsonl"
    feedback.write_text("".join(json.dumps(row) + "\n" for row in feedback_rows()))
    checked(["feedback", "import", str(feedback)], env)
    summary = json.loads(timed("train", [*TRAIN_ARGS, "--json"]).stdout)
    version = summary["version"]
    eval_file = data / "eval.jsonl"
    eval_file.write_text(
        "".join(
            json.dumps({"question": q, "reference": a}) + "\n"
            for q, a in [
                ("How do I reset my password?", "Open Settings, then Security."),
                ("Where is my refund?", "Refunds arrive in five to ten business days."),
            ]
        )
    )
    timed("eval", ["eval", str(eval_file), "--no-retrieve", "--limit", "2"])
    timed("promote", ["adapters", "promote", version, "--force"])
    checked(["adapters", "rollback"], env)
    reference = data / "reference.jsonl"
    timed("export", ["feedback", "export", "--format", "sft", "--output", str(reference)])
    return BaseHome(
        home, env, data, turn_id, approved_id, version, eval_file, reference.read_bytes(), durations
    )


def copy_home(base: BaseHome, target: Path) -> dict:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base.home, target, symlinks=True)
    return {**base.env, "DESKLOOP_HOME": str(target)}


# ---------------------------------------------------------------- invariants


class State:
    """Reads a data dir the way deskloop does, in this process, between runs."""

    def __init__(self, env: dict):
        self.home = Path(env["DESKLOOP_HOME"])

    def _store(self):
        from assistant.store import Store

        return Store(f"sqlite:///{self.home / 'deskloop.db'}")

    def exchanges(self) -> list[str]:
        problems = []
        store = self._store()
        try:
            for chat in store.conversations(limit=100_000):
                roles = [turn.role for turn in store.turns(chat.id)]
                expected = ["user", "assistant"] * (len(roles) // 2)
                if roles != expected or len(roles) % 2:
                    problems.append(f"conversation {chat.id}: turns {roles}")
        finally:
            store.close()
        return problems

    def turn_count(self) -> int:
        store = self._store()
        try:
            return sum(len(store.turns(c.id)) for c in store.conversations(limit=100_000))
        finally:
            store.close()

    def flag_and_approved(self, turn_id: int) -> tuple[str | None, str | None, str | None]:
        store = self._store()
        try:
            turn = store.turn(turn_id)
            approved = store.approved.for_turn(turn_id)
            return turn.rating, turn.correction, approved and approved.answer
        finally:
            store.close()

    def approved_entry(self, approved_id: int) -> tuple[str, str]:
        store = self._store()
        try:
            entry = store.approved.get(approved_id)
            return entry.question, entry.answer
        finally:
            store.close()

    def chunks(self) -> tuple[dict[str, int], list[str]]:
        """({source: chunks}, problems): duplicate positions or mixed versions of a source."""
        import chromadb
        from chromadb.config import Settings

        folder = self.home / "index" / "chroma"
        if not folder.is_dir():
            return {}, []
        client = chromadb.PersistentClient(
            path=str(folder), settings=Settings(anonymized_telemetry=False)
        )
        try:
            try:
                collection = client.get_collection("deskloop")
            except Exception:  # not created yet
                return {}, []
            metadatas = collection.get(include=["metadatas"])["metadatas"]
        finally:
            client.clear_system_cache()
        positions: dict[str, list] = {}
        hashes: dict[str, set] = {}
        for meta in metadatas:
            source = meta["source"]
            positions.setdefault(source, []).append(meta.get("chunk_index"))
            hashes.setdefault(source, set()).add(meta.get("content_hash"))
        problems = []
        for source, indexes in positions.items():
            if len(indexes) != len(set(indexes)):
                problems.append(f"{source}: duplicate chunk positions")
            if len(hashes[source]) > 1:
                problems.append(f"{source}: {len(hashes[source])} versions indexed at once")
        return {source: len(indexes) for source, indexes in positions.items()}, problems

    def adapters(self) -> tuple[str | None, list[str], list[str]]:
        """(active, versions, problems)."""
        from tuning.registry import AdapterRegistry

        problems = []
        registry = AdapterRegistry(self.home / "adapters")
        try:
            listed = registry.list()
            active = registry.active()
        except Exception as exc:  # the check reports it: an unreadable registry is broken
            return None, [], [f"registry unreadable: {type(exc).__name__}: {exc}"]
        versions = [entry["version"] for entry in listed]
        if active is not None:
            folder = registry.path_of(active)
            if not (folder / "adapter_config.json").is_file():
                problems.append(f"active {active} has no adapter_config.json")
        return active, versions, problems


# ---------------------------------------------------------------- operations


@dataclass
class OperationResult:
    operation: str
    runs: int = 0
    killed: int = 0
    finished_before_kill: int = 0
    broken_runs: int = 0  # runs after which at least one invariant was broken
    final_run_ok: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return self.__dict__.copy()


class Operation:
    """One command under fault: its argv per attempt and its extra invariants."""

    def __init__(self, name: str, base: BaseHome, env: dict):
        self.name, self.base, self.env = name, base, env
        self.state = State(env)
        self.attempt = 0
        self.active_before, _, _ = self.state.adapters()

    def argv(self) -> list[str]:
        b = self.base
        n = self.attempt
        if self.name == "ingest":
            return ["ingest", str(self.manuals_dir())]
        if self.name == "ask":
            return ["ask", f"How do I reset my password? (attempt {n})"]
        if self.name == "flag":
            return ["feedback", "flag", str(b.turn_id), "--bad", "--reason", "incorrect",
                    "--correction", self.correction(n)]  # fmt: skip
        if self.name == "approved_edit":
            return ["approved", "edit", str(b.approved_id), "--answer", self.edited(n)]
        if self.name == "train":
            return TRAIN_ARGS
        if self.name == "eval":
            return ["eval", str(b.eval_file), "--no-retrieve", "--limit", "2"]
        if self.name == "promote":
            return ["adapters", "promote", b.version, "--force"]
        if self.name == "export":
            return ["feedback", "export", "--format", "sft", "--output", str(self.export_path())]
        raise ValueError(self.name)

    def manuals_dir(self) -> Path:
        """The base manuals plus a dozen more; one base manual changed (a replacement)."""
        folder = Path(self.env["DESKLOOP_HOME"]).parent / f"{self.name}-manuals"
        if not folder.is_dir():
            folder.mkdir(parents=True)
            names = sorted(p.name for p in MANUALS.glob("*.md"))[:12]
            for name in {*BASE_MANUALS, *names}:
                shutil.copy(MANUALS / name, folder / name)
            changed = folder / BASE_MANUALS[0]
            changed.write_text(changed.read_text() + "\n\nThe link is valid for one hour.\n")
        return folder

    def export_path(self) -> Path:
        return Path(self.env["DESKLOOP_HOME"]).parent / f"{self.name}-export.jsonl"

    @staticmethod
    def correction(n: int) -> str:
        return f"Open Settings, choose Security, then Reset password (correction {n})."

    @staticmethod
    def edited(n: int) -> str:
        return f"Open the Korvo app, then Settings and Security (edit {n})."

    def before_run(self) -> None:
        """Give every attempt work to do (a finished ingest or round is otherwise reused)."""
        if self.name == "ingest" and self.attempt:  # changed manuals replaced, a new one added
            folder = self.manuals_dir()
            for path in sorted(folder.glob("*.md"))[:3]:
                path.write_text(path.read_text() + f"\n\nRevised in attempt {self.attempt}.\n")
            source = sorted(MANUALS.glob("*.md"))[-1 - self.attempt % 10]
            (folder / f"added-{self.attempt}.md").write_text(source.read_text())
        if self.name == "train" and self.attempt:  # new feedback: a new dataset to train on
            row = feedback_rows(1)[0]
            row["messages"][0]["content"] = f"How do I reset my password? (attempt {self.attempt})"
            row["conversation_id"] = f"attempt-{self.attempt}"
            path = Path(self.env["DESKLOOP_HOME"]).parent / f"feedback-{self.attempt}.jsonl"
            path.write_text(json.dumps(row) + "\n")
            checked(["feedback", "import", str(path)], self.env)
        if self.name == "export":
            self.export_path().unlink(missing_ok=True)
        if self.name == "promote":  # each attempt switches from the base to the version
            from tuning.registry import AdapterRegistry

            registry = AdapterRegistry(Path(self.env["DESKLOOP_HOME"]) / "adapters")
            if registry.active() is not None:
                checked(["adapters", "rollback"], self.env)
        self.active_before, _, _ = self.state.adapters()

    def invariants(self, finished: bool) -> list[str]:
        problems = list(self.state.exchanges())
        _, chunk_problems = self.state.chunks()
        problems += chunk_problems
        active, _, adapter_problems = self.state.adapters()
        problems += adapter_problems
        if self.name == "promote":
            allowed = {self.active_before, self.base.version}
            if active not in allowed:
                problems.append(f"in service {active}, neither before nor the promoted one")
            if finished and active != self.base.version:
                problems.append("a finished promotion left the old adapter in service")
        elif active != self.active_before:
            problems.append(f"adapter in service changed {self.active_before} -> {active}")
        if self.name == "flag":
            rating, correction, approved = self.state.flag_and_approved(self.base.turn_id)
            tried = {self.correction(i) for i in range(self.attempt + 1)}
            if rating == "bad":
                if correction not in tried:
                    problems.append(f"flag correction {correction!r} was never given")
                elif approved is None or approved.rstrip(".") not in correction:
                    problems.append("flag recorded without its approved answer")
        if self.name == "approved_edit":
            question, answer = self.state.approved_entry(self.base.approved_id)
            allowed = {"Open Settings, then Security."} | {
                self.edited(i) for i in range(self.attempt + 1)
            }
            if answer not in allowed or not question.strip():
                problems.append(f"approved answer is {answer!r}")
        if self.name == "export":
            path = self.export_path()
            if path.exists() and path.read_bytes() != self.base.export_reference:
                problems.append("export file present but not complete")
        if self.name == "ingest" and finished:
            counts, _ = self.state.chunks()
            missing = [p for p in self.manuals_dir().glob("*.md") if str(p.resolve()) not in counts]
            if missing:
                problems.append(f"{len(missing)} manuals not indexed after a finished ingest")
        return problems


def fault_operation(
    name: str, base: BaseHome, workdir: Path, kills: int, rng: random.Random, progress=print
) -> OperationResult:
    """`kills` runs of one command each SIGKILLed at a random moment, then one full run.

    The delay is drawn over the command's run time: first as timed in the base home, then
    as its last finished run here took (a training round on a grown dataset, or an ingest
    of changed files, takes another time than the first). Every other kill falls in the last
    quarter of that time, where a short command writes: drawn over the whole run, most kills
    of a flag or an export would land in its start-up.
    """
    env = copy_home(base, workdir / name / "home")
    operation = Operation(name, base, env)
    result = OperationResult(name)
    expected = max(base.durations.get(name, 10.0), 1.0)
    started = time.monotonic()
    for attempt in range(kills + 1):
        operation.attempt = attempt
        operation.before_run()
        final = attempt == kills
        delay = None if final else kill_moment(attempt, expected, rng)
        outcome = run_command(operation.argv(), env, kill_after=delay)
        if outcome.code == 0:  # later delays: drawn over this command's own run time here
            expected = max(outcome.seconds, 1.0)
        result.runs += 1
        problems = []
        if outcome.killed:
            result.killed += 1
        elif outcome.code != 0:
            problems.append(f"exit {outcome.code}: {_last_line(outcome.stderr)}")
        elif not final:
            result.finished_before_kill += 1
        if TRACEBACK in outcome.stderr:
            problems.append("traceback")
        problems += operation.invariants(finished=outcome.code == 0)
        if final:
            result.final_run_ok = outcome.code == 0
        if problems:
            result.broken_runs += 1
            result.problems += [f"run {attempt} (kill at {delay and round(delay, 2)} s): {p}"
                                for p in problems]  # fmt: skip
        progress(
            f"{name} run {attempt}: "
            + ("killed" if outcome.killed else f"exit {outcome.code}")
            + (f" at {delay:.2f} s" if delay else "")
            + (f" BROKEN {problems}" if problems else "")
        )
    result.seconds = round(time.monotonic() - started, 1)
    return result


def kill_moment(attempt: int, expected: float, rng: random.Random) -> float:
    """Seconds after the start: anywhere in the run, or (odd attempts) in its last quarter."""
    low, high = (0.75, 1.05) if attempt % 2 else (0.05, 1.0)
    return rng.uniform(low, high) * expected


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------- concurrent writers


def concurrent_writers(base: BaseHome, workdir: Path, rounds: int = 3, progress=print) -> dict:
    """An ask loop, a flag loop and an ingest, as separate processes at once."""
    env = copy_home(base, workdir / "concurrent" / "home")
    state = State(env)
    turns_before = state.turn_count()
    folder = workdir / "concurrent" / "manuals"
    folder.mkdir(parents=True, exist_ok=True)
    extra = sorted(p.name for p in MANUALS.glob("*.md"))[-6:]
    for name in extra:
        shutil.copy(MANUALS / name, folder / name)
    runs: list[Run] = []
    lock = threading.Lock()

    def loop(make_argv, count):
        for i in range(count):
            outcome = run_command(make_argv(i), env)
            with lock:
                runs.append(outcome)

    corrections = {}

    def flag_argv(i):
        text = f"Use Settings, then Security (concurrent {i})."
        corrections[i] = text
        return ["feedback", "flag", str(base.turn_id), "--bad", "--correction", text]

    threads = [
        threading.Thread(
            target=loop, args=(lambda i: ["ask", f"Where is my refund? ({i})"], rounds)
        ),
        threading.Thread(target=loop, args=(flag_argv, rounds * 4)),
        threading.Thread(target=loop, args=(lambda i: ["ingest", str(folder)], 1)),
        threading.Thread(
            target=loop,
            args=(lambda i: ["approved", "edit", str(base.approved_id), "--answer", f"A{i}."], 6),
        ),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    locked = sum("database is locked" in (r.stderr + r.stdout) for r in runs)
    failed = [f"{' '.join(r.argv[:2])}: {_last_line(r.stderr)}" for r in runs if r.code != 0]
    problems = state.exchanges()
    turns_added = state.turn_count() - turns_before
    counts, chunk_problems = state.chunks()
    problems += chunk_problems
    indexed = sum(str((folder / name).resolve()) in counts for name in extra)
    rating, correction, _ = state.flag_and_approved(base.turn_id)
    result = {
        "processes": len(runs),
        "seconds": round(time.monotonic() - started, 1),
        "database_locked": locked,
        "failed_processes": failed,
        "turns_added": turns_added,
        "turns_expected": 2 * rounds,
        "manuals_indexed": indexed,
        "manuals_expected": len(extra),
        "last_flag_kept": rating == "bad" and correction == corrections[rounds * 4 - 1],
        "invariant_problems": problems,
    }
    result["ok"] = (
        not locked
        and not failed
        and not problems
        and turns_added == 2 * rounds
        and indexed == len(extra)
        and result["last_flag_kept"]
    )
    progress(f"concurrent writers: {result}")
    return result


# ---------------------------------------------------------------- the suite


def run_fault_suite(
    workdir: Path,
    kills: int = 20,
    operations: tuple[str, ...] = OPERATIONS,
    seed: int = 0,
    concurrent_rounds: int = 3,
    progress=print,
) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    model = tiny_model(workdir / "tiny-model")
    base = prepare_base_home(workdir, model, progress)
    rng = random.Random(seed)
    results = [
        fault_operation(name, base, workdir, kills, rng, progress).to_dict() for name in operations
    ]
    concurrent = concurrent_writers(base, workdir, concurrent_rounds, progress)
    return {
        "kills_per_operation": kills,
        "seed": seed,
        "runs": sum(r["runs"] for r in results),
        "killed": sum(r["killed"] for r in results),
        "runs_with_invariant_broken": sum(r["broken_runs"] for r in results),
        "final_runs_failed": sum(not r["final_run_ok"] for r in results),
        "per_operation": {r["operation"]: r for r in results},
        "concurrent_writers": concurrent,
        "command_seconds": {k: round(v, 1) for k, v in base.durations.items()},
    }
