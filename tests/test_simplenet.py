"""The SimpleNet baseline on real images: it separates bottle goods from defects at 1 and 2 shots, and the same
seed trains the same adaptor and discriminator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.harness import evaluate, method_settings
from inspectd.evaluation.simplenet import SimpleNet
from inspectd.images import read_rgb

# Measured image AUROC on bottle, seeds 0-1: 0.988-0.998 at 1 and 2 shots; PatchCore and PaDiM reach >= 0.996.
# An untrained discriminator scores 0.47-0.52 and 20 of the 200 steps 0.75-0.80, so 0.95 fails a training
# that does not converge while leaving room for thread-count rounding.
BOTTLE_FLOOR = 0.95


def test_simplenet_separates_bottle_defects(data_root: Path) -> None:
    results = evaluate([data_root / "mvtec_ad" / "bottle"], [1, 2], [0], "simplenet", DetectorSettings())
    assert [r.shots for r in results] == [1, 2]
    for result in results:
        assert result.image_auroc >= BOTTLE_FLOOR, result
        assert result.fit_seconds > 0


def test_simplenet_same_seed_same_scores(data_root: Path) -> None:
    settings = method_settings("simplenet", DetectorSettings())
    bottle = data_root / "mvtec_ad" / "bottle"
    golden = sorted((bottle / "train" / "good").iterdir())[0]
    test_image = sorted((bottle / "test" / "broken_large").iterdir())[0]
    cache = FeatureCache(settings, read_rgb(golden))
    features, _ = cache.golden(golden, settings.augmentations)
    test_features, _ = cache.golden(test_image, settings.augmentations)
    first, again, other = (SimpleNet(features, seed).patch_scores(test_features) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)  # the seed does reach the training
