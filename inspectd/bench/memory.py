"""Resident memory: peak RSS, and what each loaded product bank adds, measured in a fresh process.

A process that has already fitted banks holds freed heap pages, so loading more banks there barely
moves its RSS; a spawned child that loads only the backbone and the banks measures them honestly.
"""

from __future__ import annotations

import multiprocessing
import resource
from pathlib import Path

from inspectd.detector.bank import load_bank
from inspectd.heap import release_freed_heap


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loaded_banks_rss(version_dirs: list[Path], reference: bool) -> tuple[float, float]:
    """(RSS with the backbone loaded, RSS added per product) for detectors on ``version_dirs``."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (version_dirs, reference))


def _measure(version_dirs: list[Path], reference: bool) -> tuple[float, float]:
    from inspectd.bench.reference import NchwBackbone, reference_detector
    from inspectd.detector.backbone import get_backbone
    from inspectd.detector.detector import Detector

    settings = load_bank(version_dirs[0]).settings
    get_backbone(settings.backbone, settings.weights_path)
    backbone = NchwBackbone(settings) if reference else None
    before = rss_mb()
    detectors = [reference_detector(load_bank(path), backbone) if backbone else Detector(load_bank(path))
                 for path in version_dirs]
    release_freed_heap()  # as the daemon does after each bank it loads (daemon/banks.py)
    per_bank = (rss_mb() - before) / len(detectors)
    return before, per_bank
