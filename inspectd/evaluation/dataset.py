"""One category in MVTec AD layout, and the K-shot draw of METHOD.md section 6."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inspectd.detector.fit import golden_input_shape
from inspectd.detector.settings import DetectorSettings
from inspectd.images import image_files, read_rgb


@dataclass
class Category:
    name: str
    train_files: list[Path]
    test_images: list[np.ndarray]
    test_labels: np.ndarray  # 1 = defective
    test_masks: list[np.ndarray] | None  # uint8 0/1 per test image (zeros for goods); None without masks
    test_types: list[str] | None = None  # each test image's folder under test/ ("good" or the defect type)


def check_category(root: Path) -> None:
    """ValueError saying what is missing when ``root`` is not a category folder in MVTec AD layout."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: no such folder")
    missing = [name for name in ("train/good", "test") if not (root / name).is_dir()]
    if missing:
        raise ValueError(f"{root}: not a category in MVTec AD layout (no {' or '.join(missing)} folder; "
                         "expected train/good/*.png, test/<defect>/*.png and optionally ground_truth/)")


def load_category(root: Path) -> Category:
    root = Path(root)
    train_files = image_files(root / "train" / "good")
    has_masks = (root / "ground_truth").is_dir()
    images, labels, masks, types = [], [], [], []
    for defect_dir in sorted(p for p in (root / "test").iterdir() if p.is_dir()):
        for path in image_files(defect_dir):
            image = read_rgb(path)
            images.append(image)
            labels.append(0 if defect_dir.name == "good" else 1)
            types.append(defect_dir.name)
            if has_masks:
                masks.append(_mask_for(root, defect_dir.name, path, image.shape[:2]))
    return Category(name=f"{root.parent.name}/{root.name}", train_files=train_files, test_images=images,
                    test_labels=np.array(labels), test_masks=masks if has_masks else None, test_types=types)


def _mask_for(root: Path, defect: str, image_path: Path, shape: tuple[int, int]) -> np.ndarray:
    if defect == "good":
        return np.zeros(shape, dtype=np.uint8)
    path = root / "ground_truth" / defect / f"{image_path.stem}_mask.png"
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError(f"missing mask {path}")
    return (mask > 127).astype(np.uint8)


def draw_shots(n_train: int, shots: int, seed: int) -> list[int]:
    """Indices into the sorted train/good files, exactly as METHOD.md section 6 prescribes."""
    return [int(i) for i in np.random.RandomState(seed).choice(n_train, shots, replace=False)]


@dataclass(frozen=True)
class Draw:
    """One run's goldens: ``shots`` train images drawn with ``seed``."""

    shots: int
    seed: int
    goldens: list[Path]


def draws_by_input_shape(category: Category, shots: list[int], seeds: list[int],
                         settings: DetectorSettings) -> list[tuple[tuple[int, int], list[Draw]]]:
    """Every shot count's and seed's draw, grouped by the input shape its fit gets (``fit.golden_input_shape`` of its
    goldens), with that shape: a feature cache's. Frames of one size make one group; a category whose frames differ
    in shape (magnetic_tile) is evaluated at the shapes its users' banks would have, not at its first train image's."""
    groups: dict[tuple[int, int], list[Draw]] = {}
    for shot_count in shots:
        for seed in seeds:
            goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), shot_count, seed)]
            shape = golden_input_shape([read_rgb(path) for path in goldens], settings)
            groups.setdefault(shape, []).append(Draw(shot_count, seed, goldens))
    return list(groups.items())
