"""What the bench runs on: golden images and encoded frames from a category folder in MVTec layout."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspectd.evaluation.dataset import draw_shots
from inspectd.images import image_files, read_rgb

REFIT_GOLDENS = (1, 4, 8)


@dataclass(frozen=True)
class BenchData:
    golden_images: list[np.ndarray]  # the K shots the bank is fitted on
    refit_images: list[np.ndarray]   # max(REFIT_GOLDENS) train images for the refit timing
    frames: list[bytes]              # encoded test images, as a camera or MQTT delivers them


def load_bench_data(category_dir: Path, shots: int, frame_count: int, seed: int = 0) -> BenchData:
    """Shots drawn as METHOD.md section 6 prescribes; frames cycle over ``test/*/`` files."""
    layout_error = ValueError(f"{category_dir}: need MVTec layout with train/good and test/<kind> images")
    if not (category_dir / "train" / "good").is_dir() or not (category_dir / "test").is_dir():
        raise layout_error
    train_files = image_files(category_dir / "train" / "good")
    test_files = [path for folder in sorted((category_dir / "test").iterdir()) if folder.is_dir()
                  for path in image_files(folder)]
    if len(train_files) < max(shots, 1) or not test_files:
        raise layout_error
    golden = [read_rgb(train_files[i]) for i in draw_shots(len(train_files), shots, seed)]
    refit = [read_rgb(path) for path in itertools.islice(itertools.cycle(train_files), max(REFIT_GOLDENS))]
    encoded = [path.read_bytes() for path in test_files]
    return BenchData(golden, refit, list(itertools.islice(itertools.cycle(encoded), frame_count)))
