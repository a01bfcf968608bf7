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


def test_read_only_features_are_fitted_as_writeable_ones_and_left_as_they_were(data_root: Path) -> None:
    """fit_memory replaces mirrored cells in place in the arrays featurize returns; the eval's cache hands out
    read-only ones that every fit of a run shares, which it must copy first and never alter."""
    train = load_category(data_root / "mvtec_ad" / "bottle").train_files[:2]
    goldens = [resize_to(read_rgb(path), (224, 224)) for path in train]
    featurize = image_featurizer(goldens, SETTINGS, get_backbone(SETTINGS.backbone, SETTINGS.weights_path))
    shared = {}

    def cached(index: int, augmentations: AugmentationSet) -> np.ndarray:
        if (index, augmentations) not in shared:
            features = featurize(index, augmentations)
            features.setflags(write=False)
            shared[index, augmentations] = (features, features.copy())
        return shared[index, augmentations][0]

    from_cache = fit_memory(cached, 2, SETTINGS, (224, 224))
    fresh = fit_memory(featurize, 2, SETTINGS, (224, 224))
    np.testing.assert_array_equal(from_cache.memory, fresh.memory)
    np.testing.assert_array_equal(from_cache.holdout_features, fresh.holdout_features)
    assert from_cache.threshold == fresh.threshold
    assert all(mirrored_cells(SETTINGS, (224, 224), features.shape[1:3]).any() for features, _ in shared.values())
    for features, as_extracted in shared.values():
        np.testing.assert_array_equal(features, as_extracted)
