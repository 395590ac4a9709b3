"""The fault suite (bench/fault_suite.py) on a small sample: every operation SIGKILLed at
seeded random moments, the invariants checked after each kill, then a full run that must
succeed; and concurrent writers. The benchmark (`python -m bench reliability`) runs 20
kills per operation; CI runs 2, and 1 of the commands that take longest (to stay within a
few minutes on 2 cores).
"""

from __future__ import annotations

import pytest

from bench import fault_suite

pytestmark = pytest.mark.slow  # real processes with MiniLM retrieval and a (tiny) model
CI_KILLS = {"ingest": 1, "ask": 1, "train": 1, "eval": 1}  # 10-30 s a run here


@pytest.fixture(scope="module")
def base(tmp_path_factory, tiny_model_dir):
    workdir = tmp_path_factory.mktemp("fault")
    return workdir, fault_suite.prepare_base_home(workdir, tiny_model_dir, progress=print)


@pytest.mark.parametrize("operation", fault_suite.OPERATIONS)
def test_sigkill_at_random_moments_breaks_no_invariant(base, operation):
    workdir, home = base
    rng = fault_suite.random.Random(f"ci-{operation}")
    kills = CI_KILLS.get(operation, 2)
    result = fault_suite.fault_operation(operation, home, workdir, kills, rng)
    assert result.runs == kills + 1
    assert result.broken_runs == 0, result.problems
    assert result.final_run_ok, result.problems


def test_concurrent_writers_lose_nothing_and_never_see_a_locked_database(base):
    workdir, home = base
    result = fault_suite.concurrent_writers(home, workdir, rounds=1)
    assert result["processes"] == 12  # 1 ask, 4 flags, 1 ingest, 6 edits at once
    assert result["database_locked"] == 0
    assert result["failed_processes"] == []
    assert result["turns_added"] == result["turns_expected"] == 2
    assert result["manuals_indexed"] == result["manuals_expected"]
    assert result["last_flag_kept"] and result["invariant_problems"] == []
