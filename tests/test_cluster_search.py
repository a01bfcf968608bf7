"""search "clustered" returns the exact nearest-row distance of every patch, on real features of real images.

Exact means: each patch score equals faiss's flat L2 search up to float rounding (1e-4 of the largest), the
defective test images of bottle included, and patches moved far from every bank row (what an anomalous
patch looks like to the bounds: every cluster must then be considered).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from support.banks import bottle_bank_and_test_features

from inspectd.detector import DetectorSettings
from inspectd.detector.cluster_search import ClusteredIndex
from inspectd.detector.scoring import PatchIndex
from inspectd.detector.settings import AugmentationSet

SETTINGS = replace(DetectorSettings(), input_size=224, augmentations=AugmentationSet(rotations=4), search="exact")


@pytest.fixture(scope="module")
def bank_and_features(data_root: Path) -> tuple[np.ndarray, np.ndarray]:
    return bottle_bank_and_test_features(data_root, SETTINGS)


@pytest.mark.parametrize("clusters", [1, 8, 24])
def test_clustered_search_matches_exact_search(bank_and_features, clusters: int) -> None:
    memory, features = bank_and_features
    exact = PatchIndex(memory).patch_scores(features)
    clustered = ClusteredIndex(memory, clusters).patch_scores(features)
    assert np.abs(clustered - exact).max() <= 1e-4 * exact.max()


def test_clustered_search_is_exact_for_patches_far_from_the_bank(bank_and_features) -> None:
    memory, features = bank_and_features
    spread = float(np.linalg.norm(memory - memory.mean(0), axis=1).max())
    rng = np.random.default_rng(0)
    direction = rng.standard_normal(features.shape[-1]).astype(np.float32)
    far = features[:2] + 2.0 * spread * direction / np.linalg.norm(direction)
    exact = PatchIndex(memory).patch_scores(far)
    assert exact.min() > spread  # every patch lies outside the bank's extent
    assert np.abs(ClusteredIndex(memory, 24).patch_scores(far) - exact).max() <= 1e-4 * exact.max()


def test_small_banks_and_the_setting(bank_and_features) -> None:
    memory, features = bank_and_features
    for rows in (1, 3):
        exact = PatchIndex(memory[:rows]).patch_scores(features[:1])
        assert np.abs(ClusteredIndex(memory[:rows]).patch_scores(features[:1]) - exact).max() <= 1e-4 * exact.max()
    assert DetectorSettings(search="clustered").search == "clustered"


@pytest.mark.parametrize("search", ["clustered", "shortlist", "exact"])
def test_rows_left_out_of_a_search_are_as_if_never_in_the_bank(bank_and_features, search: str) -> None:
    # What calibration's leave-one-group-out and stream learning's leave-one-frame-out ask of one index: left
    # out, a golden's rows (here a random third of the bank, and the rows nearest the patches) never answer.
    from inspectd.detector.search import patch_index
    memory, features = bank_and_features
    index = patch_index(memory, search)
    nearest = np.unique(np.argmin(((features[:1].reshape(-1, 1, memory.shape[1]) - memory[None]) ** 2).sum(-1), 1))
    for excluded in (np.random.default_rng(1).random(len(memory)) < 1 / 3, np.isin(np.arange(len(memory)), nearest)):
        left = PatchIndex(memory[~excluded]).patch_scores(features[:2])
        found = index.patch_scores(features[:2], excluded=excluded)
        assert np.abs(found - left).max() <= 5e-3 * left.max()  # the shortlist's bf16 pick: within 0.5 %
        assert (found >= PatchIndex(memory).patch_scores(features[:2]) - 1e-4 * left.max()).all()
        assert np.abs(found - index.patch_scores(features[:2])).max() > 1e-3 * left.max()  # the exclusion moved them


class CountingIndex(ClusteredIndex):
    """Counts the patch-row distances each search computes."""

    distances = 0

    def _search_rows(self, queries, norms, patches, start, end, best, nearest, blocked, first_pass) -> None:
        self.distances += len(patches) * (end - start)
        super()._search_rows(queries, norms, patches, start, end, best, nearest, blocked, first_pass)


def test_rows_nearer_a_clusters_centre_than_a_patch_can_reach_are_skipped(bank_and_features, monkeypatch) -> None:
    # a row m of cluster c can be nearer patch q than the best distance found only if |m - c| >= |q - c| - best:
    # skipping the rest changes no score and saves work on real features
    memory, features = bank_and_features
    shells = CountingIndex(memory, 24)
    scores = shells.patch_scores(features)
    def every_row(self, patches, cluster, reach):
        return ClusteredIndex._shell_groups(self, patches, cluster, None)
    monkeypatch.setattr(CountingIndex, "_shell_groups", every_row)
    whole = CountingIndex(memory, 24)
    assert np.array_equal(whole.patch_scores(features), scores)
    assert shells.distances < 0.85 * whole.distances, (shells.distances, whole.distances)
