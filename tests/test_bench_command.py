"""``inspectd bench`` runs end to end on real JPEG frames and prints every section of its table.

A tiny configuration (64 px, one shot, a few frames): this checks the plumbing, not the speed; no
figure is asserted (timings on a shared machine would make that flaky).
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from inspectd.bench.stages import STAGES
from inspectd.cli import app


def test_bench_prints_every_section_and_stage(data_root: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--images", str(data_root / "mvtec_ad" / "bottle"), "--shots", "1",
                                      "--batch", "2", "--size", "64", "--frames", "2", "--banks", "2"])
    assert result.exit_code == 0, result.output
    for heading in ("cpu:", "anomalib:", "[stages, batch 1", "[end to end, batch 1]",
                    "[sustained, fast in batches of 2]", "[refit,", "[memory, 2 product banks", "[floor: backbone"):
        assert heading in result.output, heading
    for label in (*STAGES, "p50 per frame", "p99 per frame", "frames per second", "1 golden", "8 golden",
                  "p50 CPU time per frame", "frames per CPU second", "RSS per product bank",
                  "matmul rate bf16 | fp32", "backbone at that rate"):
        assert f"  {label} " in result.output, label
