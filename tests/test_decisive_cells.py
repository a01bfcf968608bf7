"""Proving only the cells that decide a frame (decisive_cells.py) gives the whole search's verdict and regions.

On real bottle features (goods and every defect kind): image scores equal the whole clustered search's, every
map pixel at or above the threshold equals it, no pixel reads below it, and frames leave cells unproven (the time
it saves). The map operator is OpenCV's resize and blur to float rounding.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from support.banks import bottle_bank_and_test_features

from inspectd.detector import DetectorSettings
from inspectd.detector.cluster_search import ClusteredIndex
from inspectd.detector.decisive_cells import settled_scores_and_maps
from inspectd.detector.scoring import anomaly_maps, scores_and_maps
from inspectd.detector.settings import AugmentationSet

SETTINGS = replace(DetectorSettings(), input_size=224, augmentations=AugmentationSet(rotations=4))
SHAPE = (224, 224)
CENTRE = 3.5  # where the grid's cell 0 looks, in pixels: moves the maps by a pixel's fraction


@pytest.fixture(scope="module")
def index_and_features(data_root: Path) -> tuple[ClusteredIndex, np.ndarray]:
    memory, features = bottle_bank_and_test_features(data_root, SETTINGS)
    return ClusteredIndex(memory, 16), features  # a small bank: its own count would be 2 clusters, both probed


@pytest.mark.parametrize("grid, shape, sigma", [((40, 40), (320, 320), 5.71), ((28, 20), (224, 160), 4.0),
                                                ((64, 25), (512, 203), 9.1), ((7, 5), (56, 40), 4.0),
                                                ((28, 28), (224, 224), 0.0)])
def test_the_map_is_opencvs_bilinear_resize_and_gaussian_blur(grid, shape, sigma) -> None:
    grids = np.random.default_rng(0).random((2, *grid)).astype(np.float32) * 5
    expected = [cv2.resize(one, shape[::-1], interpolation=cv2.INTER_LINEAR) for one in grids]
    expected = np.stack([cv2.GaussianBlur(one, (0, 0), sigmaX=sigma) if sigma > 0 else one for one in expected])
    assert np.abs(anomaly_maps(grids, shape, sigma) - expected).max() <= 1e-6 * expected.max()


@pytest.mark.parametrize("top_k, roi", [(1, (0.0, 0.0, 1.0, 1.0)), (5, (0.1, 0.2, 0.8, 0.9))])
def test_scores_and_maps_above_the_threshold_are_the_whole_searchs(index_and_features, top_k, roi) -> None:
    index, features = index_and_features
    sigma = SETTINGS.map_sigma()
    whole = [scores_and_maps(index.patch_scores(one[None]), SHAPE, sigma, CENTRE, top_k, roi) for one in features]
    scores = np.array([score[0] for score, _ in whole])
    for threshold in (np.median(scores), scores.min() * 0.9):  # half the frames fail; every frame fails
        unproven = []
        for one, (score, full_map) in zip(features, whole):
            search = index.open(one[None])
            pending = (~search.settled()).sum()
            found, found_map = settled_scores_and_maps(search, lambda d: d, SHAPE, sigma, CENTRE, top_k, threshold, roi)
            scale = float(score[0])
            assert abs(found[0] - score[0]) <= 1e-6 * scale
            assert (found_map >= full_map - 1e-5 * scale).all()
            above = (full_map >= threshold) | (found_map >= threshold)
            assert np.abs(found_map - full_map)[above].max(initial=0.0) <= 1e-5 * scale
            unproven.append((~search.settled()).sum() / max(pending, 1))
        assert max(unproven) > 0.3  # frames that pass leave much of their proof undone


def test_settling_every_cell_is_the_whole_search(index_and_features) -> None:
    index, features = index_and_features
    search = index.open(features[:2])
    assert not search.settled().all()
    search.settle()
    assert search.settled().all()
    assert np.abs(search.distances() - index.patch_scores(features[:2])).max() == 0.0
