"""Long work shows progress: the bank fit's stages reach a callback; a terminal gets a bar, a log one line per stage."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from typer.testing import CliRunner

from inspectd.cli import app
from inspectd.detector.fit import fit_bank
from inspectd.detector.settings import DetectorSettings
from inspectd.images import read_rgb
from inspectd.progress import StageReporter

SMALL = {"input_size": 96, "augmentations": {"rotations": 2, "gains": []}}


def goldens(data_root: Path, count: int) -> list[Path]:
    return sorted((data_root / "mvtec_ad" / "bottle" / "train" / "good").iterdir())[:count]


def test_fit_bank_reports_each_golden_each_group_and_the_calibration(data_root) -> None:
    events: list[tuple[str, int, int]] = []
    fit_bank([read_rgb(p) for p in goldens(data_root, 3)], DetectorSettings().with_overrides(SMALL),
             progress=lambda stage, done, total: events.append((stage, done, total)))
    assert events == [("featurize", 0, 3), ("featurize", 1, 3), ("featurize", 2, 3), ("featurize", 3, 3),
                      ("coreset", 0, 3), ("coreset", 1, 3), ("coreset", 2, 3), ("coreset", 3, 3),
                      ("calibration", 0, 1), ("calibration", 1, 1)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_bar_per_stage_redrawn_in_place() -> None:
    stream = Terminal()
    report = StageReporter("refit bottle", stream)
    for done in range(3):
        report("featurize", done, 2)
    lines = stream.getvalue().split("\n")
    assert len(lines) == 2 and lines[1] == ""  # one finished line: the bar ends its stage with a newline
    frames = lines[0].split("\r")[1:]
    assert [f.split("]")[0].split("[")[1] for f in frames] == ["." * 24, "#" * 12 + "." * 12, "#" * 24]
    assert frames[-1].startswith("refit bottle: featurize ") and " 2/2 " in frames[-1]


def test_refit_without_a_terminal_logs_a_line_when_each_stage_starts_and_ends(data_root, tmp_path) -> None:
    golden = tmp_path / "golden"
    golden.mkdir()
    for path in goldens(data_root, 2):
        shutil.copy(path, golden)
    options = [f"--set=input_size={SMALL['input_size']}", "--set=augmentations.rotations=2",
               "--set=augmentations.gains=[]"]
    outcome = CliRunner().invoke(app, ["refit", "--product", "bottle", "--golden", str(golden),
                                       "--banks", str(tmp_path / "banks"), *options])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert lines[:6] == ["refit bottle: featurize (2 step(s)) ...", lines[1], "refit bottle: coreset (2 step(s)) ...",
                         lines[3], "refit bottle: calibration (1 step(s)) ...", lines[5]]
    for stage, line in zip(("featurize", "coreset", "calibration"), lines[1:6:2]):
        assert line.startswith(f"refit bottle: {stage} done in ") and line.endswith(" s")
    assert lines[6].startswith("bottle: wrote ")
