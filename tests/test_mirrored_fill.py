"""Rotated copies' mirrored corners stay out of the bank: a real frame never shows that content."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.detector.backbone import get_backbone
from inspectd.detector.features import resize_to
from inspectd.detector.fit import fit_memory, image_featurizer, mirrored_cells, replace_mirrored_fill
from inspectd.detector.settings import AugmentationSet
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb
from support.banks import FAST_SETTINGS

SETTINGS = replace(FAST_SETTINGS, augmentations=AugmentationSet(rotations=8))  # 45 degree steps: corners filled


def test_cells_on_mirrored_fill_are_replaced_by_the_goldens_own() -> None:
    rng = np.random.default_rng(0)
    copies = rng.random((3, 4, 5, 2), dtype=np.float32)
    filled = np.zeros((3, 4, 5), bool)
    filled[1, 0, 0] = filled[2, 3, 4] = True
    real = copies.copy()
    replace_mirrored_fill(real, filled)
    np.testing.assert_array_equal(real[1, 0, 0], copies[0, 0, 0])
    np.testing.assert_array_equal(real[2, 3, 4], copies[0, 3, 4])
    np.testing.assert_array_equal(real[~filled], copies[~filled])


def test_the_bank_holds_no_vector_of_a_mirrored_corner(data_root: Path) -> None:
    golden = resize_to(read_rgb(load_category(data_root / "mvtec_ad" / "bottle").train_files[0]), (224, 224))
    featurize = image_featurizer([golden], SETTINGS, get_backbone(SETTINGS.backbone, SETTINGS.weights_path))
    copies = featurize(0, SETTINGS.augmentations)
    filled = mirrored_cells(SETTINGS, (224, 224), copies.shape[1:3])
    assert not filled[0].any() and not filled[2].any()  # the golden itself and its quarter turn
    assert 0.05 < filled[1].mean() < 0.25  # a 45 degree turn: about 17 % of the frame is mirrored fill
    memory = fit_memory(featurize, 1, SETTINGS, (224, 224)).memory
    fill_vectors = copies[filled]
    real = copies.copy()
    replace_mirrored_fill(real, filled)
    real_rows = {row.tobytes() for row in real.reshape(-1, copies.shape[-1])}
    assert all(row.tobytes() in real_rows for row in memory)
    distances = ((memory[:, None, :] - fill_vectors[None]) ** 2).sum(-1)
    assert distances.min() > 0  # not one mirrored-fill vector kept
