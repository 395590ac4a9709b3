from __future__ import annotations

import json

import pytest
from tuning_samples import feedback_rows_jsonl

from assistant.store import Store
from tuning import round as round_module
from tuning.feedback_rows import import_feedback
from tuning.gate import Decision
from tuning.registry import AdapterRegistry
from tuning.round import run_round


def import_into_store(settings, path) -> None:
    """Rows that all carry an answer to learn, so whatever lands in eval has a reference."""
    rows = [r for r in feedback_rows_jsonl(16) if r["rating"] == "good" or "correction" in r]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = Store(settings.paths.database)
    import_feedback(store, path)
    store.close()


def test_rounds_register_evaluate_decide_and_survive_a_crash(tiny_settings, tmp_path, monkeypatch):
    import_into_store(tiny_settings, tmp_path / "feedback.jsonl")
    registry = AdapterRegistry(tiny_settings.paths.adapters)
    events = []

    first = run_round(
        tiny_settings, method="lora", max_steps=2, seeds_path=None, progress=events.append
    )

    assert first["version"] == "v0001" and first["before"]["adapter"] == "base"
    assert 0 < first["before"]["examples"] == first["after"]["examples"] < 20
    assert first["after"]["rouge_l"] is not None and first["before"]["rouge_l"] is not None
    assert "support" in first["after"] and "citations_all_valid" in first["after"]
    # fewer eval rows than training.min_eval_rows (20): the gate decides nothing
    assert not first["promoted"] and first["active"] == "base"
    assert "too few eval rows" in registry.rejection("v0001")
    assert first["shipped_eval"] == {"note": "nothing is indexed"}
    meta = registry.show("v0001")
    assert meta["base_model"]["model_id"] and meta["base_model"]["sha256"]
    assert meta["dataset"]["sha256"] == first["dataset"]["train_sha256"]
    assert meta["dataset"]["sizes"]["train_sft"] > 0
    assert meta["training"]["config"]["max_steps"] == 2 and meta["training"]["global_step"] == 2
    assert meta["decision"]["promote"] is False and meta["parent"] is None
    assert meta["decision"]["eval_rows"] == first["after"]["examples"]
    assert meta["metrics"] == {k: first["after"][k] for k in meta["metrics"]}
    assert meta["compared_with"]["metrics"]["support"] == first["before"]["support"]
    evaluation = json.loads(
        (tiny_settings.paths.runs / first["run_id"] / "evaluation.json").read_text()
    )
    assert len(evaluation["after"]["rows"]) == first["after"]["examples"]
    kinds = {e["event"] for e in events}
    assert {"dataset", "train_step", "eval_progress", "round_end"} <= kinds
    registry.promote("v0001", force=True)

    # a crash after training, before the decision: nothing in the registry moves
    def crash(*args, **kwargs):
        raise RuntimeError("killed mid-evaluation")

    with monkeypatch.context() as patch:
        patch.setattr("tuning.round_eval.evaluate_examples", crash)
        with pytest.raises(RuntimeError):
            run_round(tiny_settings, method="lora", max_steps=3, seeds_path=None)
    assert registry.versions() == ["v0001"] and registry.active() == "v0001"

    # the next round reuses the trained candidate, and a rejected one is kept out of service
    rejected = Decision(False, "worse")
    monkeypatch.setattr(round_module, "decide", lambda *args, **kwargs: rejected)
    events.clear()
    second = run_round(
        tiny_settings, method="lora", max_steps=3, seeds_path=None, progress=events.append
    )

    assert any(e["event"] == "train_reused" for e in events)
    assert second["version"] == "v0002" and not second["promoted"]
    assert second["before"]["adapter"] == "v0001"
    assert registry.active() == "v0001" and registry.show("v0002")["parent"] == "v0001"
    assert registry.show("v0002")["decision"]["promote"] is False


def test_a_round_without_feedback_or_seeds_says_what_to_do(tiny_settings):
    from assistant.errors import DeskloopError

    with pytest.raises(DeskloopError, match="feedback import"):
        run_round(tiny_settings, max_steps=1, seeds_path=None)
    assert AdapterRegistry(tiny_settings.paths.adapters).versions() == []
