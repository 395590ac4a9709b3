"""Help and docs point only at what ships with deskloop."""

from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "tuning", "retrieval", "tui", "bench")


def test_no_reference_to_a_guide_outside_the_project():
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "GUIDE" in line
    ]
    assert hits == []


def test_feedback_import_help_describes_the_row_format():
    result = CliRunner().invoke(app, ["feedback", "import", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "rating" in result.output and "feedback export" in result.output
