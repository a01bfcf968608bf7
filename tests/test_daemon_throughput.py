"""Sustained end-to-end frames/s through the daemon (MQTT in -> result out) and where the time went.

The detector's default settings except no rotated copies, so the bank fits fast; real 512 px JPEG
frames. The figures are printed (pytest -s) and, if $INSPECTD_BENCH_OUT names a file, written there as
JSON; ``benchmarks/daemon_rate.py`` runs the same measurement at issue 5's configuration.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from inspectd.detector import AugmentationSet, BankStore, DetectorSettings, fit_bank
from inspectd.images import image_files, read_rgb

from support.throughput import measure_throughput

FRAMES = 48
BENCH_SETTINGS = DetectorSettings(augmentations=AugmentationSet(rotations=1))


def _full_size_jpegs(data_root: Path, count: int) -> list[bytes]:
    files = sorted((data_root / "mvtec_ad" / "bottle" / "test" / "good").glob("*.jpg"))[:count]
    return [f.read_bytes() for f in files]


def test_sustained_throughput_and_stage_breakdown(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    goldens = [read_rgb(f) for f in image_files(data_root / "mvtec_ad" / "bottle" / "train" / "good")[:2]]
    BankStore(banks).write("bottle", fit_bank(goldens, BENCH_SETTINGS))
    report = measure_throughput(mqtt_broker, banks, _full_size_jpegs(data_root, 8), FRAMES)
    print("\nthroughput:", json.dumps(report, indent=2))
    if os.environ.get("INSPECTD_BENCH_OUT"):
        Path(os.environ["INSPECTD_BENCH_OUT"]).write_text(json.dumps(report, indent=2))
    assert set(report["verdicts"]) <= {"pass", "fail"} and report["verdicts"]
    assert report["frames_per_s"] > 1.0
