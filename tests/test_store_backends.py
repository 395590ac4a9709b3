"""The test database fixture: where it finds PostgreSQL, and that CI never skips without it."""

import pytest
from postgres import _unavailable, find_binaries


def test_postgres_binaries_come_from_pg_bin_first(tmp_path, monkeypatch):
    for name in ("initdb", "pg_ctl"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    assert find_binaries() == tmp_path


def test_missing_postgres_fails_under_ci_and_skips_on_a_developer_machine(monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI: no initdb"):
        _unavailable("no initdb")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        _unavailable("no initdb")
