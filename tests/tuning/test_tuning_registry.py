from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.errors import DeskloopError
from tuning.registry import AdapterRegistry

ROOT = Path(__file__).resolve().parents[2]


def fake_adapter(folder: Path, payload: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text('{"r": 4}')
    (folder / "adapter_model.safetensors").write_bytes(payload)
    return folder


@pytest.fixture
def registry(tmp_path) -> AdapterRegistry:
    return AdapterRegistry(tmp_path / "adapters")


def test_register_numbers_versions_and_keeps_metadata(registry, tmp_path):
    candidate = fake_adapter(tmp_path / "cand")
    first = registry.register(candidate, {"metrics": {"rouge_l": 0.3}, "parent": None})
    second = registry.register(candidate, {"metrics": {"rouge_l": 0.4}, "parent": first})

    assert (first, second) == ("v0001", "v0002")
    shown = registry.show("2")
    assert shown["metrics"] == {"rouge_l": 0.4} and shown["parent"] == "v0001"
    assert shown["created_at"] and shown["active"] is False
    assert (registry.path_of("v2") / "adapter_model.safetensors").read_bytes() == b"weights"
    assert [v["version"] for v in registry.list()] == ["v0001", "v0002"]


def test_register_refuses_a_folder_without_peft_files(registry, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DeskloopError, match="not a PEFT adapter"):
        registry.register(tmp_path / "empty", {})
    assert registry.versions() == []


def test_promote_and_rollback_walk_the_history(registry, tmp_path):
    candidate = fake_adapter(tmp_path / "cand")
    v1, v2 = registry.register(candidate, {}), registry.register(candidate, {})
    assert registry.active() is None and registry.active_choice() == (None, None)

    registry.promote(v1)
    registry.promote(v2)
    assert registry.active_choice() == ("v0002", registry.root / "v0002")
    assert registry.rollback() == "v0001"
    assert registry.active_choice() == ("v0001", registry.root / "v0001")
    assert registry.rollback() is None
    assert registry.active_choice() == (None, None)
    with pytest.raises(DeskloopError, match="nothing to roll back"):
        registry.rollback()


def test_unknown_versions_fail_clearly(registry):
    with pytest.raises(DeskloopError, match="adapters list"):
        registry.path_of("v0007")
    with pytest.raises(DeskloopError, match="not an adapter version"):
        registry.promote("latest")


def test_active_choice_sees_another_process_switch_at_once(registry, tmp_path):
    v1 = registry.register(fake_adapter(tmp_path / "cand"), {})
    registry.promote(v1)
    assert registry.active_choice() == (v1, registry.root / v1)
    other = AdapterRegistry(registry.root)  # another process rolls back
    other.rollback()
    assert registry.active_choice() == (None, None)
    assert not (registry.root / "active.json").exists()  # the pointer is in the database


def test_a_pointer_left_in_active_json_is_kept(registry, tmp_path):
    candidate = fake_adapter(tmp_path / "cand")
    v1, v2 = registry.register(candidate, {}), registry.register(candidate, {})
    legacy = {"version": v2, "history": [None, v1], "updated_at": "2025-01-01T00:00:00"}
    (registry.root / "active.json").write_text(json.dumps(legacy))
    assert registry.active() == v2 and registry.history() == [None, v1]
    assert registry.rollback() == v1  # the first switch moves it into the database
    (registry.root / "active.json").unlink()
    assert AdapterRegistry(registry.root).active() == v1
    assert registry.history() == [None]


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tuning.registry import AdapterRegistry

    action, target = sys.argv[1], sys.argv[2]
    real_replace = os.replace
    real_write_pointer = AdapterRegistry._write_pointer

    def replace_then_die(src, dst):
        if Path(dst).name == target:
            os.kill(os.getpid(), signal.SIGKILL)  # after the temp is written, before the switch
        real_replace(src, dst)

    def write_pointer_then_die(self, *args):
        real_write_pointer(self, *args)
        os.kill(os.getpid(), signal.SIGKILL)  # the new pointer written, not committed

    os.replace = replace_then_die
    AdapterRegistry._write_pointer = write_pointer_then_die
    registry = AdapterRegistry(sys.argv[3])
    if action == "promote":
        registry.promote("v0002")
    else:
        registry.register(sys.argv[4], {{"note": "killed"}})
    """
)


def run_killed(*args: str) -> int:
    code = KILLER.format(root=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=60)
    return done.returncode


def test_a_kill_during_promote_leaves_the_active_adapter(registry, tmp_path):
    candidate = fake_adapter(tmp_path / "cand")
    registry.register(candidate, {})
    registry.register(candidate, {})
    registry.promote("v0001")

    assert run_killed("promote", "pointer", str(registry.root)) == -signal.SIGKILL

    assert registry.active() == "v0001"
    assert AdapterRegistry(registry.root).history() == [None]
    assert registry.promote("v0002") == "v0002"  # and the registry still works
    assert registry.rollback() == "v0001"


def test_a_kill_during_register_leaves_no_half_version(registry, tmp_path):
    candidate = fake_adapter(tmp_path / "cand")
    registry.register(candidate, {})
    registry.promote("v0001")

    assert run_killed("register", "v0002", str(registry.root), str(candidate)) == -signal.SIGKILL

    assert registry.versions() == ["v0001"] and registry.active() == "v0001"
    assert [p.name for p in registry.root.glob(".staging-*")]  # the leftover, ignored
    assert registry.register(candidate, {}) == "v0002"
    assert not list(registry.root.glob(".staging-*"))
    assert os.listdir(registry.root / "v0002") != []


def test_a_version_the_gate_rejected_is_promoted_only_when_forced(registry, tmp_path):
    from tuning.registry import RejectedAdapterError

    decision = {"promote": False, "reason": "worse: support 0.6 vs 0.8"}
    version = registry.register(fake_adapter(tmp_path / "cand"), {"decision": decision})

    with pytest.raises(RejectedAdapterError, match=r"support 0\.6 vs 0\.8.*--force"):
        registry.promote(version)
    assert registry.active() is None and registry.rejection(version) == decision["reason"]

    registry.promote(version, force=True)
    assert registry.active() == version
    assert registry.show(version)["forced_promotions"][0]["rejection"] == decision["reason"]
    assert registry.show(version)["decision"] == decision
