"""`train`, `eval` and `adapters` with DESKLOOP_SERVER set: rounds as server jobs with progress
events and cancel, only for admins, and the local commands' documents (tiny real model)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from remote_helpers import (
    deskloop,
    document,
    feedback_rows,
    local_env,
    one_line_error,
    remote_env,
    shape,
    write_rows,
)

from assistant.client import Client, ServerError
from assistant.settings import load_settings
from tuning.registry import AdapterRegistry
from tuning.round_claim import TrainingRounds

FAST = {  # as tests/tuning's tiny_settings: a round in seconds
    "DEVICE": "cpu",
    "GENERATION__MAX_NEW_TOKENS": "6",
    "TRAINING__BATCH_SIZE": "2",
    "TRAINING__GRAD_ACCUM": "1",
    "TRAINING__MAX_LENGTH": "384",
    "TRAINING__LORA_R": "4",
    "TRAINING__LORA_ALPHA": "8",
    "TRAINING__LEARNING_RATE": "0.01",
    "TRAINING__EVAL_FRACTION": "0.25",
}
ROUND = ("--method", "lora", "--no-seeds", "--eval-limit", "2")
WAIT_S = 300


@pytest.fixture(scope="module")
def env(team_home, tiny_model_dir) -> dict:
    return local_env(team_home, MODEL=str(tiny_model_dir), **FAST)


@pytest.fixture(scope="module")
def trainer(start_server, env, team_home, team_settings):
    """The team's server, training the tiny model, with the feedback of 12 flagged answers."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith("DESKLOOP_"):
                patch.setenv(name, value)
        tiny = load_settings(home=team_home)
    running = start_server()
    fields = ("model", "device", "generation", "training")
    settings = team_settings.model_copy(update={f: getattr(tiny, f) for f in fields})
    running.state.settings = settings  # what the server trains and evaluates with
    running.state.registry = AdapterRegistry.for_settings(settings)
    cho = remote_env(env, running.url, running.tokens["cho"])
    rows = write_rows(team_home / "rows.jsonl", feedback_rows(12))
    assert document("feedback", "import", rows, env=cho)["rows"] == 12
    return running


def client_of(running, who: str) -> Client:
    return Client(running.url, running.tokens[who])


def test_an_agent_cannot_train_and_nothing_starts(trainer, env):
    ann = remote_env(env, trainer.url, trainer.tokens["ann"])
    run = deskloop("train", *ROUND, "--max-steps", "2", env=ann, check=False)
    assert run.returncode == 1 and "needs an admin token" in one_line_error(run)
    assert trainer.state.jobs.running("train") is None
    assert TrainingRounds(trainer.state.settings.store_url).running() is None
    assert trainer.state.registry.versions() == []


def test_a_round_streams_progress_then_its_summary(trainer, env):
    cho = client_of(trainer, "cho")
    job = cho.start_train(method="lora", max_steps=2, no_seeds=True, eval_limit=2)
    assert job["status"] == "running" and job["started_by"] == "cho"
    events = list(cho.job_events(job["id"]))

    progress = [data for name, data in events if name == "progress"]
    kinds = [event["event"] for event in progress]
    assert kinds.index("stage") < kinds.index("train_start") < kinds.index("train_step")
    assert [e["step"] for e in progress if e["event"] == "train_step"] == [1, 2]
    assert "eval_end" in kinds and kinds[-1] == "round_end"
    name, summary = events[-1]
    assert name == "done" and summary["version"] == "v0001"
    assert cho.job(job["id"])["status"] == "finished"
    assert trainer.state.registry.versions() == ["v0001"]

    remote = document(
        "train", *ROUND, "--max-steps", "2", env=remote_env(env, trainer.url, trainer.tokens["cho"])
    )
    local = document("train", *ROUND, "--max-steps", "2", env=env)
    assert shape(remote) == shape(local) and remote["dataset"] == local["dataset"]


def test_adapters_through_the_server(trainer, env):
    cho = remote_env(env, trainer.url, trainer.tokens["cho"])
    ann = remote_env(env, trainer.url, trainer.tokens["ann"])
    assert document("adapters", "list", env=ann) == document("adapters", "list", env=env)
    assert document("adapters", "show", "v0001", env=ann) == document(
        "adapters", "show", "v0001", env=env
    )
    refused = deskloop("adapters", "promote", "v0001", "--force", env=ann, check=False)
    assert refused.returncode == 1 and "needs an admin token" in one_line_error(refused)
    gate = deskloop("adapters", "promote", "v0001", env=cho, check=False)
    assert gate.returncode == 1 and "--force" in one_line_error(gate)

    promoted = document("adapters", "promote", "v0001", "--force", env=cho)
    assert promoted == {"previous": "base", "active": "v0001", "forced": True}
    assert trainer.state.registry.changed_by() == "cho"
    text = deskloop("adapters", "list", env=ann).stdout
    assert "* v0001" in text and "in service: v0001" in text
    rolled = document("adapters", "rollback", env=cho)
    assert rolled == {"previous": "v0001", "active": "base"}
    assert document("adapters", "promote", "v0001", "--force", env=env) == promoted
    assert document("adapters", "rollback", env=env) == rolled


def test_eval_runs_on_the_server_as_locally(trainer, env, tmp_path):
    rows = tmp_path / "eval.jsonl"
    rows.write_text(
        json.dumps({"question": "Why is my camera offline?", "reference": "Restart it."})
        + "\n"
        + json.dumps({"question": "Gift cards?", "reference": "x", "answerable": False})
        + "\n"
    )
    args = ("eval", str(rows), "--adapter", "v0001", "--no-retrieve")
    remote = document(*args, env=remote_env(env, trainer.url, trainer.tokens["cho"]))
    local = document(*args, env=env)
    assert shape(remote) == shape(local) and remote["file"] == local["file"] == str(rows)
    assert remote["metrics"]["examples"] == 2 and remote["adapter"] == "v0001"


def first_training_step(events) -> None:
    for name, data in events:
        if name == "progress" and data["event"] == "train_step":
            return
    raise AssertionError("the round ended before its first step")


def test_a_second_round_gets_409_and_cancel_stops_the_first(trainer, env):
    cho = client_of(trainer, "cho")
    registered = trainer.state.registry.versions()
    job = cho.start_train(method="lora", max_steps=500, no_seeds=True)
    events = cho.job_events(job["id"])
    first_training_step(events)

    with pytest.raises(ServerError, match="a train job is already running"):
        cho.start_train(method="lora", max_steps=3, no_seeds=True)
    busy = deskloop(
        "train", *ROUND, env=remote_env(env, trainer.url, trainer.tokens["cho"]), check=False
    )
    assert busy.returncode == 1 and "already running" in one_line_error(busy)
    with pytest.raises(ServerError, match="needs an admin token"):
        client_of(trainer, "ann").cancel_job(job["id"])

    assert cho.cancel_job(job["id"])["cancelled_by"] == "cho"
    ending = [name for name, _ in events if name != "progress"]
    assert ending == ["cancelled"]
    assert cho.job(job["id"])["status"] == "cancelled"
    assert TrainingRounds(trainer.state.settings.store_url).running() is None
    assert trainer.state.registry.versions() == registered  # nothing registered


def test_ctrl_c_in_the_terminal_cancels_the_servers_round(trainer, env):
    cho = remote_env(env, trainer.url, trainer.tokens["cho"])
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "train", *ROUND, "--max-steps", "400"],
        env=cho,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + WAIT_S
    while not _stepping(trainer):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.2)
    job = trainer.state.jobs.running("train")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=WAIT_S)
    assert process.returncode == 130
    assert f"Cancelled the train job {job.id} on the server" in stderr
    while job.status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status == "cancelled" and job.cancelled_by == "cho"


def _stepping(running) -> bool:
    job = running.state.jobs.running("train")
    return job is not None and any(e.get("event") == "train_step" for e in job.events)
