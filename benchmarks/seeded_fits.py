"""Default-settings banks per category, shot count and seed, to score real test images (presence_rates.py)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.command import parse_ints
from inspectd.evaluation.dataset import Category, draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def runs_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--categories", required=True, help="comma-separated, under --data")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seeds", default="0,1,2")
    return parser


def seeded_detectors(args: argparse.Namespace) -> Iterator[tuple[str, Category, np.ndarray, int, list[Detector]]]:
    """Per category and shot count: the category, its test images' features and one detector per seed,
    each on a default-settings bank of that seed's K goldens (METHOD.md section 6). Whole-frame banks: the
    features are cached per category, and a pose-aligned crop (detector/pose.py) follows each seed's goldens."""
    settings = DetectorSettings(pose="off")
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        cache = FeatureCache(settings, read_rgb(category.train_files[0]))
        test, _ = cache.test(category.test_images)
        for shots in parse_ints(args.shots):
            detectors = []
            for seed in parse_ints(args.seeds):
                paths = [category.train_files[i] for i in draw_shots(len(category.train_files), shots, seed)]
                fitted = fit_memory(lambda i, a: cache.golden(paths[i], a)[0], shots, replace(settings, seed=seed),
                                    cache.shape)
                detectors.append(Detector(scoring_bank(fitted, settings, shots)))
            yield name, category, test, shots, detectors
