import pytest

from assistant.errors import DeskloopError
from assistant.settings import load_settings


def test_defaults_use_the_embedded_model_and_the_home_from_the_environment(isolated_home):
    settings = load_settings()
    assert settings.model == "embedded"
    assert settings.paths.database == isolated_home / "deskloop.db"
    assert settings.paths.index.parent == isolated_home


def test_toml_file_then_environment_override(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('device = "cpu"\n[generation]\nmax_new_tokens = 99\ntemperature = 0.3\n')
    monkeypatch.setenv("DESKLOOP_CONFIG", str(config))
    monkeypatch.setenv("DESKLOOP_GENERATION__TEMPERATURE", "0.7")
    settings = load_settings()
    assert settings.device == "cpu"
    assert settings.generation.max_new_tokens == 99
    assert settings.generation.temperature == 0.7


def test_invalid_choice_names_the_setting_and_the_accepted_values(monkeypatch):
    monkeypatch.setenv("DESKLOOP_DEVICE", "gpu")
    with pytest.raises(DeskloopError) as caught:
        load_settings()
    message = str(caught.value)
    assert "DESKLOOP_DEVICE" in message
    assert "'cpu'" in message and "'cuda'" in message
    assert "\n" not in message


def test_out_of_range_nested_setting_is_named(monkeypatch):
    monkeypatch.setenv("DESKLOOP_RETRIEVAL__TOP_K", "-3")
    with pytest.raises(DeskloopError, match="DESKLOOP_RETRIEVAL__TOP_K"):
        load_settings()


def test_unknown_key_in_the_toml_file_is_rejected(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("modle = 'typo'\n")
    monkeypatch.setenv("DESKLOOP_CONFIG", str(config))
    with pytest.raises(DeskloopError, match="modle"):
        load_settings()


def test_chunk_overlap_must_be_below_chunk_tokens(monkeypatch):
    monkeypatch.setenv("DESKLOOP_RETRIEVAL__CHUNK_TOKENS", "64")
    monkeypatch.setenv("DESKLOOP_RETRIEVAL__CHUNK_OVERLAP", "100")
    with pytest.raises(DeskloopError) as caught:
        load_settings()
    message = str(caught.value)
    assert "chunk_overlap" in message and "DESKLOOP_RETRIEVAL__CHUNK_OVERLAP" in message
    assert "\n" not in message
