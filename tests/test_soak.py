"""Load: a short soak (CI) at a steady 10 parts/s. RSS, threads and open files stay flat after warm-up
and every part is answered and counted. The long run: benchmarks/soak.py --minutes 30."""

from __future__ import annotations

import sys
from pathlib import Path

from support.line import assert_all_accounted

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from soak import run_soak  # noqa: E402

SOAK_SECONDS = 20.0
SOAK_FPS = 10.0
RSS_GROWTH_LIMIT_MIB = 20.0


def test_short_soak_is_flat_and_loses_nothing(data_root: Path, tmp_path: Path) -> None:
    report = run_soak(SOAK_SECONDS, SOAK_FPS, data_root, tmp_path, sample_every_s=1.0, echo=False)
    growth = report.growth()
    print(f"soak {SOAK_SECONDS:.0f}s at {SOAK_FPS} fps: sent {report.sent}, answered {report.answered}, "
          f"first {report.samples[0]}, last {report.samples[-1]}, growth after warm-up {growth}")
    assert report.answered == report.sent
    assert_all_accounted(report.counts, report.sent)
    assert report.counts["processed"] == report.sent
    assert growth["rss_mib"] < RSS_GROWTH_LIMIT_MIB, growth
    assert growth["threads"] == 0 and growth["open_fds"] == 0, growth
