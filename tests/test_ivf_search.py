"""search "ivf" on real features of real images: never below the exact nearest-row distance, equal to it for
nearly every patch, and it leaves out the rows a hold-out marks.

The inverted file measures a patch against the rows of its nearest lists only, so a patch whose nearest row lies
in another list gets a farther row's distance: a score can rise, never fall. On the default 4-golden bottle bank
99.8 % of patches get their exact distance (docs/performance.md). On this smaller bank (1,046 rows, 24 lists) 8
probes give every patch its exact distance, 2 give 99.2 %, 1 gives 93 %: the test asks at least 99 %.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from support.banks import bottle_bank_and_test_features

from inspectd.detector import DetectorSettings
from inspectd.detector.ivf_search import InvertedFileIndex
from inspectd.detector.scoring import PatchIndex
from inspectd.detector.search import patch_index
from inspectd.detector.settings import AugmentationSet

SETTINGS = replace(DetectorSettings(), input_size=224, augmentations=AugmentationSet(rotations=8), search="exact")
ROUNDING = 1e-4  # of the largest score: float32 distances by different summation orders


@pytest.fixture(scope="module")
def bank_and_features(data_root: Path) -> tuple[np.ndarray, np.ndarray]:
    return bottle_bank_and_test_features(data_root, SETTINGS)


def test_ivf_scores_are_exact_or_higher(bank_and_features) -> None:
    memory, features = bank_and_features
    index = InvertedFileIndex(memory)
    assert index.index.nlist > index.probes  # the test means something only where lists are left unprobed
    exact = PatchIndex(memory).patch_scores(features)
    approximate = index.patch_scores(features)
    tolerance = ROUNDING * exact.max()
    assert (approximate >= exact - tolerance).all()
    assert np.mean(np.abs(approximate - exact) <= tolerance) >= 0.99


def test_ivf_leaves_out_the_excluded_rows(bank_and_features) -> None:
    memory, features = bank_and_features
    index = InvertedFileIndex(memory)
    excluded = np.zeros(len(memory), bool)
    excluded[: len(memory) // 2] = True
    exact = PatchIndex(memory).patch_scores(features, excluded=excluded)
    approximate = index.patch_scores(features, excluded=excluded)
    tolerance = ROUNDING * exact.max()
    assert (approximate >= exact - tolerance).all()  # no left-out row was found
    # a patch equal to a left-out row is no longer at distance 0
    own = memory[0].reshape(1, 1, 1, -1)
    assert index.patch_scores(own)[0, 0, 0] <= tolerance
    assert index.patch_scores(own, excluded=excluded)[0, 0, 0] > tolerance


def test_small_banks_and_the_setting(bank_and_features) -> None:
    memory, features = bank_and_features
    for rows in (1, 3, 100):  # no more lists than probes: every row is measured, the search is exact
        exact = PatchIndex(memory[:rows]).patch_scores(features[:1])
        assert np.abs(InvertedFileIndex(memory[:rows]).patch_scores(features[:1]) - exact).max() <= ROUNDING * exact.max()
    assert isinstance(patch_index(memory, DetectorSettings(search="ivf").search), InvertedFileIndex)
