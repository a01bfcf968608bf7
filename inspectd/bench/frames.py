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
    good: list[bool]                 # whether each frame is a good part's (test/good)


def load_bench_data(category_dir: Path, shots: int, frame_count: int, seed: int = 0) -> BenchData:
    """Shots drawn as METHOD.md section 6 prescribes; frames cycle over ``test/*/`` files, one folder's file after
    another's in turn, so that any count of frames holds good parts and every defect kind alike."""
    layout_error = ValueError(f"{category_dir}: need MVTec layout with train/good and test/<kind> images")
    if not (category_dir / "train" / "good").is_dir() or not (category_dir / "test").is_dir():
        raise layout_error
    train_files = image_files(category_dir / "train" / "good")
    kinds = [image_files(folder) for folder in sorted((category_dir / "test").iterdir()) if folder.is_dir()]
    test_files = [path for turn in itertools.zip_longest(*kinds) for path in turn if path is not None]
    if len(train_files) < max(shots, 1) or not test_files:
        raise layout_error
    golden = [read_rgb(train_files[i]) for i in draw_shots(len(train_files), shots, seed)]
    refit = [read_rgb(path) for path in itertools.islice(itertools.cycle(train_files), max(REFIT_GOLDENS))]
    chosen = list(itertools.islice(itertools.cycle(test_files), frame_count))
    return BenchData(golden, refit, [path.read_bytes() for path in chosen], [path.parent.name == "good" for path in chosen])


def good_and_defective(good: list[bool]) -> list[tuple[str, list[int]]]:
    """("good" | "defective", indices of those frames) for each kind that ``good`` holds."""
    kinds = [(label, [i for i, one in enumerate(good) if one == wanted])
             for label, wanted in (("good", True), ("defective", False))]
    return [(label, indices) for label, indices in kinds if indices]
