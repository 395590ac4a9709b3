"""The bad-input suite (bench/bad_input_suite.py) as CI runs it: every case, real processes.

Each case is a wrong, missing, huge or malformed value for a verb or setting, or a broken
file in an ingest batch; it must end with one line that says what to do, a non-zero exit
code, no traceback, nothing lost and bounded memory.
"""

from __future__ import annotations

import pytest

from bench import bad_input_suite as suite


def _failures(result: dict) -> str:
    return "\n".join(
        f"{f['case']}: {f['problems']}\n    {f['stderr_tail'][-300:]}" for f in result["failing"]
    )


def test_every_verb_and_setting_fails_on_one_line_without_traceback(tmp_path):
    data = tmp_path / "inputs"
    data.mkdir()
    cases = suite.cli_cases(data) + suite.settings_cases(data)
    cases = [c for c in cases if c.memory_mb == suite.LIGHT_MB]  # no model loaded
    assert len(cases) > 80
    result = suite.run_bad_input_suite(tmp_path, cases)
    assert result["tracebacks"] == 0, _failures(result)
    assert result["passed"] == result["cases"], _failures(result)


# Each was a traceback, a silent exit 0 or a multi-line panel before its fix.
DEFECTS = [
    "flag: turn not a number",  # typer's boxed usage panel, several lines
    "flag: huge turn id",  # OverflowError from SQLite
    "approved: show huge id",
    "import: binary file",  # UnicodeDecodeError
    "import: empty file",  # exit 0, nothing said
    "import: broken lines beside a good one",  # exit 0 though lines were skipped
    "export: output in a missing folder",  # FileNotFoundError
    "export: output is a folder",  # IsADirectoryError
    "eval: binary file",  # UnicodeDecodeError
    "train: huge steps",  # started a 10^30-step round
    "train: missing seeds file",  # silently trained without the seeds
    "config unknown-section-key.toml",  # a misspelt [section] key silently ignored
    "config is a folder",  # silently ignored
    "home is a file",  # FileExistsError
    "home not writable",  # FileNotFoundError
]


@pytest.mark.parametrize("name", DEFECTS)
def test_defect_found_by_the_suite_stays_fixed(tmp_path, name):
    data = tmp_path / "inputs"
    data.mkdir()
    [case] = [c for c in suite.cli_cases(data) + suite.settings_cases(data) if c.name == name]
    result = suite.run_bad_input_suite(tmp_path, [case])
    assert result["passed"] == 1, _failures(result)


@pytest.mark.slow
def test_bad_files_fail_one_line_each_and_the_rest_is_indexed(tmp_path):
    """Ingest batches (MiniLM, Chroma): the broken files fail, the good ones are indexed."""
    data = tmp_path / "inputs"
    cases = (
        suite.ingest_cases(data, huge_mb=50)
        + [c for c in suite.settings_cases(data) if c.memory_mb == suite.HEAVY_MB]
        + [c for c in suite.settings_cases(data) if c.name == "home not writable: ingest"]
    )
    result = suite.run_bad_input_suite(tmp_path, cases)
    assert result["tracebacks"] == 0, _failures(result)
    assert result["good_files_lost"] == []
    assert result["passed"] == result["cases"], _failures(result)
    assert 0 < result["peak_rss_mb"] <= suite.HEAVY_MB
