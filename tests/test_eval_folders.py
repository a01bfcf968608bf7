"""`inspectd eval` on a folder that is not a category: one line naming it, exit 2, no traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from inspectd.cli import app


def test_a_missing_folder_is_named_without_a_traceback(tmp_path) -> None:
    outcome = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "bottle"), "--shots", "1", "--seeds", "0"])
    assert outcome.exit_code == 2 and isinstance(outcome.exception, SystemExit)
    assert outcome.output == f"eval: {tmp_path / 'bottle'}: no such folder\n"


def test_a_folder_without_the_mvtec_layout_says_what_it_lacks(tmp_path) -> None:
    (tmp_path / "bottle" / "test").mkdir(parents=True)
    outcome = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "bottle"), "--shots", "1", "--seeds", "0"])
    assert outcome.exit_code == 2 and isinstance(outcome.exception, SystemExit)
    assert outcome.output == (f"eval: {tmp_path / 'bottle'}: not a category in MVTec AD layout (no train/good folder; "
                              "expected train/good/*.png, test/<defect>/*.png and optionally ground_truth/)\n")
