"""AUROC against hand-computed cases, pixel AUROC on masks of another shape, the K-shot draw of the protocol, and
the input shape each draw is evaluated at."""

from __future__ import annotations

import numpy as np
import pytest

from inspectd.detector.features import input_shape
from inspectd.detector.fit import golden_input_shape
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.dataset import draw_shots, draws_by_input_shape, load_category
from inspectd.evaluation.metrics import auroc, escape_at_false_reject, escape_rate, false_reject_rate, pixel_auroc
from inspectd.images import read_rgb


def test_auroc_known_values() -> None:
    assert auroc(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1])) == 1.0
    assert auroc(np.array([0.4, 0.3, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert auroc(np.array([0.1, 0.5, 0.5, 0.9]), np.array([0, 0, 1, 1])) == pytest.approx(0.875)
    assert auroc(np.ones(6), np.array([0, 1, 0, 1, 0, 1])) == 0.5


def test_auroc_matches_pair_counting() -> None:
    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 20, 200).astype(float), rng.integers(0, 2, 200)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    assert auroc(scores, labels) == pytest.approx(pairs)


def test_pixel_auroc_compares_maps_with_masks_resized_to_their_shape() -> None:
    mask = np.zeros((8, 12), np.uint8)
    mask[:4, :6] = 1  # the top-left quarter, at twice the maps' resolution
    hit, miss = np.zeros((1, 4, 6)), np.zeros((1, 4, 6))
    hit[0, :2, :3], miss[0, 2:, 3:] = 1.0, 1.0
    assert pixel_auroc(hit, [mask]) == 1.0
    assert pixel_auroc(miss, [mask]) == pytest.approx(1 / 3)  # 6 of 18 goods outrank every defect, the rest tie
    assert pixel_auroc(hit, None) is None


def test_rates_at_threshold() -> None:
    scores, labels = np.array([1.0, 3.0, 2.0, 5.0]), np.array([0, 0, 1, 1])
    assert false_reject_rate(scores, labels, 2.5) == 0.5 and escape_rate(scores, labels, 2.5) == 0.5
    # frames another check failed (the presence check) are rejected whatever their score
    failed = np.array([True, False, True, False])
    assert false_reject_rate(scores, labels, 2.5, failed) == 1.0 and escape_rate(scores, labels, 2.5, failed) == 0.0


def test_escape_at_false_reject_places_the_threshold_on_the_goods() -> None:
    scores = np.r_[np.arange(1.0, 21.0), 5.0, 19.5, 21.0]  # 20 goods 1..20, then 3 defectives
    labels = np.r_[np.zeros(20, int), np.ones(3, int)]
    assert escape_at_false_reject(scores, labels, 0.05) == pytest.approx(1 / 3)  # threshold 19: only 20 rejected
    assert false_reject_rate(scores, labels, 19.0) == 0.05
    assert escape_at_false_reject(scores, labels, 0.0) == pytest.approx(2 / 3)  # threshold 20: 19.5 escapes too


def test_shot_draw_follows_protocol() -> None:
    assert draw_shots(60, 4, 1) == list(np.random.RandomState(1).choice(60, 4, replace=False))


def test_draws_are_evaluated_at_the_input_shape_their_fit_gets(data_root) -> None:
    """magnetic_tile's tiles are cut to size (0.45-2.32 as wide as high over seeds 0-2's first goldens): one golden
    gives its own aspect, goldens of differing aspects a square, as fit_bank does; the draws are scored at those
    shapes, not at the first train image's. A category of one frame size keeps one shape."""
    settings = DetectorSettings()
    tiles = load_category(data_root / "magnetic_tile" / "magnetic_tile")
    groups = draws_by_input_shape(tiles, [1, 4], [0, 1, 2], settings)
    assert sorted((draw.shots, draw.seed) for _, draws in groups for draw in draws) == [
        (shots, seed) for shots in (1, 4) for seed in (0, 1, 2)]
    for shape, draws in groups:
        for draw in draws:
            assert golden_input_shape([read_rgb(path) for path in draw.goldens], settings) == shape
    shapes = dict(((draw.shots, draw.seed), shape) for shape, draws in groups for draw in draws)
    assert {shapes[(4, seed)] for seed in (0, 1, 2)} == {(320, 320)}
    assert len({shapes[(1, seed)] for seed in (0, 1, 2)}) == 3
    bottle = load_category(data_root / "mvtec_ad" / "bottle")
    assert len(draws_by_input_shape(bottle, [1, 4], [0, 1, 2], settings)) == 1


def test_goldens_of_one_aspect_keep_it_and_goldens_of_several_are_squared() -> None:
    settings = DetectorSettings()
    wide, tall = np.zeros((200, 400, 3), np.uint8), np.zeros((400, 200, 3), np.uint8)
    assert golden_input_shape([wide, wide], settings) == input_shape(200, 400, 320)
    assert golden_input_shape([wide], settings)[1] > golden_input_shape([wide], settings)[0]
    assert golden_input_shape([wide, tall], settings) == (320, 320)
    assert golden_input_shape([wide, np.zeros((198, 400, 3), np.uint8)], settings) == input_shape(200, 400, 320)
