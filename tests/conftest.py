"""Shared fixtures: an isolated data dir for every test, the tiny model, a scripted model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import ScriptedModel
from tiny_model import build_tiny_model

pytest_plugins = ("postgres",)  # the PostgreSQL test server and the `database` fixture


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data dir and no user config file."""
    home = tmp_path / "home"
    monkeypatch.setenv("DESKLOOP_HOME", str(home))
    monkeypatch.setenv("DESKLOOP_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    for name in list(os.environ):
        if name.startswith("DESKLOOP_") and name not in ("DESKLOOP_HOME", "DESKLOOP_CONFIG"):
            monkeypatch.delenv(name)
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def scripted_model() -> ScriptedModel:
    return ScriptedModel()
