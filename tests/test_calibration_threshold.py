"""Calibration from golden images alone, on real images: K=1 (augmented copies only) and K=8 give a
finite threshold that passes most held-out goods, and keep what feedback needs to recompute it; an
operator override in config wins over the bank's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import structlog
from support.inprocess import IMAGE_SIZE, small_images

from inspectd.config.products import ProductConfig
from inspectd.daemon.banks import ProductBank
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.detector import AugmentationSet, BankStore, Detector, DetectorSettings, fit_bank
from inspectd.detector.calibration import expected_false_reject, threshold_from_scores

HELD_OUT_GOODS = 12
MAX_FALSE_REJECTS = 2  # of 12 held-out goods (the bank is calibrated for 1% on far larger inputs)


@pytest.mark.parametrize("shots, rotations", [(1, 4), (8, 1)])
def test_calibrated_threshold_passes_held_out_goods(data_root, shots, rotations):
    settings = DetectorSettings(input_size=IMAGE_SIZE, augmentations=AugmentationSet(rotations=rotations))
    bank = fit_bank(small_images(data_root, "bottle", "train/good", shots), settings)
    assert math.isfinite(bank.threshold) and bank.threshold > 0
    assert bank.manifest["calibration"]["target_false_reject"] == settings.target_false_reject
    groups = shots if shots > 1 else rotations  # K = 1: each pose (gain copies are held out with the image)
    assert bank.manifest["counts"]["augmented_copies"] == shots * (rotations + len(settings.augmentations.gains)) - shots
    assert len(bank.manifest["calibration"]["holdout_scores"]) == groups
    # K = 8: the maximum of 8 exchangeable scores, exceeded by a 9th with probability 1/9; K = 1: no claim
    expected = bank.manifest["calibration"]["expected_false_reject"]
    assert expected == (None if shots == 1 else pytest.approx(1 / 9, abs=1e-4))
    # what feedback needs to recompute them: each group's held-out features and each memory row's group
    assert bank.holdout_features.shape[0] == groups and sorted(set(bank.row_groups)) == list(range(groups))
    held_out = small_images(data_root, "bottle", "test/good", HELD_OUT_GOODS)
    rejected = sum(i.is_defective for i in Detector(bank).inspect(held_out))
    assert rejected <= MAX_FALSE_REJECTS, f"{rejected} of {HELD_OUT_GOODS} held-out goods rejected"


@pytest.mark.parametrize("score_count, target", [(4, 0.01), (8, 0.01), (60, 0.05)])
def test_expected_false_reject_is_the_rule_s_exceedance_rate(score_count, target):
    """Exchangeable scores: the share of new draws above the threshold set on ``score_count`` of them."""
    draws = np.random.default_rng(0).standard_normal((20000, score_count + 1))
    thresholds = np.array([threshold_from_scores(row[:-1], target) for row in draws])
    measured = float(np.mean(draws[:, -1] > thresholds))
    assert measured == pytest.approx(expected_false_reject(score_count, target), abs=0.01)


def test_operator_override_wins_over_bank_threshold(tmp_path, data_root):
    settings = DetectorSettings(input_size=IMAGE_SIZE, augmentations=AugmentationSet(rotations=1))
    bank = fit_bank(small_images(data_root, "bottle", "train/good", 2), settings)
    BankStore(tmp_path).write("bottle", bank)
    override = bank.threshold * 0.5
    served = {}
    for threshold in (None, override):
        product = ProductBank("bottle", ProductConfig(banks_dir=tmp_path, threshold=threshold), DaemonMetrics(),
                              lambda event: None, structlog.get_logger())
        product.refresh()
        served[threshold] = product.detector
    assert served[None].threshold == pytest.approx(bank.threshold)
    assert served[override].threshold == pytest.approx(override)
    good = small_images(data_root, "bottle", "test/good", 1)
    assert served[override].inspect(good)[0].threshold == pytest.approx(override)
