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


def test_active_choice_rereads_only_when_the_pointer_changes(registry, tmp_path, monkeypatch):
    v1 = registry.register(fake_adapter(tmp_path / "cand"), {})
    registry.promote(v1)
    assert registry.active_choice()[0] == v1
    reads = []
    monkeypatch.setattr(registry, "_read_pointer", lambda: reads.append(1) or {"version": "x"})
    for _ in range(5):
        assert registry.active_choice()[0] == v1
    assert reads == []
    other = AdapterRegistry(registry.root)  # another process promotes
    other.rollback()
    monkeypatch.undo()
    assert registry.active_choice() == (None, None)


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tuning.registry import AdapterRegistry

    action, target = sys.argv[1], sys.argv[2]
    real_replace = os.replace

    def replace_then_die(src, dst):
        if Path(dst).name == target:
            os.kill(os.getpid(), signal.SIGKILL)  # after the temp is written, before the switch
        real_replace(src, dst)

    os.replace = replace_then_die
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

    assert run_killed("promote", "active.json", str(registry.root)) == -signal.SIGKILL

    assert registry.active() == "v0001"
    assert json.loads((registry.root / "active.json").read_text())["version"] == "v0001"
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
