"""A product's region of interest: only what lies inside it is scored, calibrated on and shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inspectd.detector import Detector, DetectorSettings, fit_bank
from inspectd.detector.scoring import roi_window
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb
from support.banks import FAST_SETTINGS

FAST = FAST_SETTINGS
LEFT_HALF = (0.0, 0.0, 0.5, 1.0)


def test_window_counts_the_pixels_the_registration_moves_inside() -> None:
    assert roi_window((100, 200), (0.25, 0.1, 0.75, 0.9), 0.0) == (slice(10, 90), slice(50, 150))
    # map pixel p is shown at p - 11.25: rows from p = 22 (10.75 >= 10) to the map's end, columns 62 to 161
    assert roi_window((100, 200), (0.25, 0.1, 0.75, 0.9), -11.25) == (slice(22, 100), slice(62, 162))


@pytest.mark.parametrize("roi", [[0.5, 0.0, 0.4, 1.0], [0.0, 0.0, 1.0], [0.0, -0.1, 1.0, 1.0], "all", [0, 0, True, 1]])
def test_a_bad_roi_is_refused_with_its_name(roi) -> None:
    with pytest.raises(ValueError, match=r"roi must be \[left, top, right, bottom\]"):
        DetectorSettings().with_overrides({"roi": roi})


@pytest.fixture(scope="module")
def bottle(data_root: Path):
    return load_category(data_root / "mvtec_ad" / "bottle")


def test_a_defect_outside_the_roi_is_neither_scored_nor_shown(bottle) -> None:
    golden = read_rgb(bottle.train_files[0])
    good = bottle.test_images[int(np.flatnonzero(bottle.test_labels == 0)[0])]
    stained = good.copy()
    height, width = stained.shape[:2]
    stained[height // 2 - 40:height // 2 + 40, int(width * 0.8):int(width * 0.8) + 80] = (20, 20, 200)
    whole = Detector(fit_bank([golden], FAST))
    framed_bank = fit_bank([golden], replace(FAST, roi=LEFT_HALF))
    framed = Detector(framed_bank)
    clean_score = framed.inspect([good])[0].image_score
    seen, unseen = whole.inspect([stained])[0], framed.inspect([stained])[0]
    assert seen.is_defective and seen.regions
    assert unseen.image_score == pytest.approx(clean_score, rel=0.02) and not unseen.is_defective
    assert not unseen.regions and not unseen.anomaly_map[:, unseen.anomaly_map.shape[1] // 2:].any()
    assert unseen.anomaly_map[:, :unseen.anomaly_map.shape[1] // 2].min() > 0
    # the threshold is calibrated on the same region: each hold-out score is the maximum over a part of its map
    assert tuple(framed_bank.manifest["settings"]["roi"]) == LEFT_HALF
    assert all(framed_score <= whole_score for framed_score, whole_score in zip(
        framed_bank.manifest["calibration"]["holdout_scores"], whole.bank.manifest["calibration"]["holdout_scores"]))
