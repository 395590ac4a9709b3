"""One training round at a time for everyone sharing the database; the adapter pointer shared.

Both backends: a SQLite file and a real PostgreSQL server (tests/postgres.py).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tuning.registry import AdapterRegistry
from tuning.round_claim import RoundBusyError, TrainingRounds


def fake_adapter(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text('{"r": 4}')
    (folder / "adapter_model.safetensors").write_bytes(b"w")
    return folder


def test_every_registry_on_the_database_sees_the_same_adapter(database, tmp_path):
    # two machines: each its own adapters folder copy, one database
    first = AdapterRegistry(tmp_path / "a" / "adapters", database)
    second = AdapterRegistry(tmp_path / "b" / "adapters", database)
    for registry in (first, second):
        registry.register(fake_adapter(tmp_path / "cand"), {})
    first.promote("v0001")
    assert second.active_choice() == ("v0001", second.root / "v0001")
    second.rollback()
    assert first.active() is None


def test_concurrent_promotions_keep_one_consistent_history(database, tmp_path):
    registry = AdapterRegistry(tmp_path / "adapters", database)
    for _ in range(4):
        registry.register(fake_adapter(tmp_path / "cand"), {})
    versions = registry.versions()
    threads = [
        threading.Thread(target=AdapterRegistry(registry.root, database).promote, args=(v,))
        for v in versions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # every switch saw the one before it: the history is the other three, then None first
    assert registry.active() in versions
    assert sorted(registry.history(), key=str) == sorted(
        [None, *[v for v in versions if v != registry.active()]], key=str
    )


def test_a_second_round_is_refused_while_one_runs(database):
    admin_a, admin_b = TrainingRounds(database), TrainingRounds(database)
    claim = admin_a.claim("dataset")
    with pytest.raises(RoundBusyError, match=r"already running \(round \d+.*stage dataset"):
        admin_b.claim()
    assert admin_b.running().id == claim.id
    admin_a.beat(claim.id, "training")
    assert admin_b.running().stage == "training"
    admin_a.finish(claim.id, "finished", {"version": "v0001"})
    assert admin_b.running() is None
    assert admin_b.get(claim.id).to_dict()["summary"] == {"version": "v0001"}
    assert admin_b.claim().id != claim.id  # free again


def test_two_admins_starting_at_once_get_one_round(database):
    start = threading.Barrier(6, timeout=120)  # a thread that fails to open breaks it, not hangs
    won, refused, failed = [], [], []

    def try_claim() -> None:
        try:
            rounds = TrainingRounds(database)
            start.wait()
            won.append(rounds.claim())
        except RoundBusyError:
            refused.append(1)
        except Exception as exc:  # reported below, in the test's own thread
            failed.append(exc)
            start.abort()

    threads = [threading.Thread(target=try_claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed, failed[0]
    assert len(won) == 1 and len(refused) == 5


def test_the_claim_of_a_killed_process_is_taken_over(database):
    script = (
        "import os, sys; from tuning.round_claim import TrainingRounds;"
        "TrainingRounds(sys.argv[1]).claim('training'); os._exit(0)"  # dies holding the claim
    )
    subprocess.run([sys.executable, "-c", script, database], check=True, timeout=120)
    rounds = TrainingRounds(database)
    dead = rounds.running()
    assert dead is not None and rounds.is_stale(dead)
    claim = rounds.claim()
    assert claim.id != dead.id and rounds.get(dead.id).status == "abandoned"


def test_a_claim_from_another_host_is_stale_only_once_its_heartbeat_stops(database):
    rounds = TrainingRounds(database, stale_after_s=60)
    claim = rounds.claim()
    with rounds.engine.begin() as db:
        db.execute(sa.text("UPDATE training_rounds SET host = 'elsewhere', pid = 1"))
    with pytest.raises(RoundBusyError, match="elsewhere"):
        TrainingRounds(database, stale_after_s=60).claim()
    old = (datetime.now(UTC) - timedelta(seconds=300)).isoformat(timespec="milliseconds")
    with rounds.engine.begin() as db:
        db.execute(sa.text("UPDATE training_rounds SET heartbeat_at = :old"), {"old": old})
    taken = TrainingRounds(database, stale_after_s=60).claim()
    assert taken.id != claim.id and rounds.get(claim.id).status == "abandoned"


def test_held_marks_a_round_failed_when_it_raises(database):
    rounds = TrainingRounds(database)
    with pytest.raises(RuntimeError), rounds.held("dataset") as claim:
        raise RuntimeError("training crashed")
    assert rounds.get(claim.id).status == "failed" and rounds.running() is None


def test_run_round_is_refused_while_another_admin_runs_one():
    from assistant.settings import load_settings
    from tuning.round import run_round

    settings = load_settings()
    other = TrainingRounds(settings.store_url).claim("training")
    with pytest.raises(RoundBusyError, match=f"round {other.id}"):
        run_round(settings, seeds_path=None)
    assert TrainingRounds(settings.store_url).running().id == other.id  # untouched
