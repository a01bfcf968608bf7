"""The speed options agree with the float32 reference path on real images, within stated tolerances.

- BatchNorm folding and the frozen float32 graph: the same features as the unfolded eager NCHW
  module up to float rounding (1e-4 of the largest value); a batch run in chunks, those of each frame alone.
- search "shortlist" (bf16 shortlist re-ranked in float32) vs faiss exact: every patch score within
  0.5 % (measured: 0.2 %), image scores in the same order.
- precision "bfloat16" (fit and score) vs the float32 reference: image-score rank correlation >= 0.97
  and every image score within 15 % (measured here: 0.998 and 6 %). It moves AUROC by up to
  0.03 on the shared categories (docs/performance.md), which is why it is opt-in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inspectd.bench.reference import NchwBackbone
from inspectd.detector import Detector, DetectorSettings, fit_bank
from inspectd.detector.backbone import GRAPH_CHUNK_PIXELS, get_backbone
from inspectd.detector.features import patch_features, resize_to, to_batch
from inspectd.detector.scoring import PatchIndex
from inspectd.detector.search import ShortlistIndex
from inspectd.detector.settings import AugmentationSet
from inspectd.images import image_files, read_rgb

SIZE = 224
REFERENCE = replace(DetectorSettings(), input_size=SIZE, augmentations=AugmentationSet(rotations=4),
                    precision="float32", search="exact")


@pytest.fixture(scope="module")
def bottle(data_root: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    root = data_root / "mvtec_ad" / "bottle"
    goldens = [read_rgb(path) for path in image_files(root / "train" / "good")[:2]]
    tests = [read_rgb(path) for folder in sorted((root / "test").iterdir()) for path in image_files(folder)[:5]]
    return goldens, tests


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


def _scores(settings: DetectorSettings, goldens: list[np.ndarray], tests: list[np.ndarray]) -> np.ndarray:
    detector = Detector(fit_bank(goldens, settings))
    return np.array([inspection.image_score for inspection in detector.inspect(tests)])


def test_folded_frozen_graph_keeps_the_features(bottle) -> None:
    goldens, _ = bottle
    batch = to_batch([resize_to(goldens[0], (SIZE, SIZE))], get_backbone(REFERENCE.backbone))
    backbone = get_backbone(REFERENCE.backbone)
    assert backbone.graph is not None  # float32 features come from the frozen graph
    folded = patch_features(backbone, batch)
    unfolded = patch_features(NchwBackbone(REFERENCE), batch)
    assert np.abs(folded - unfolded).max() <= 1e-4 * np.abs(unfolded).max()


def test_graph_runs_a_batch_in_chunks_with_the_features_of_frame_by_frame(bottle) -> None:
    _, tests = bottle
    backbone = get_backbone(REFERENCE.backbone)
    batch = to_batch([resize_to(image, (SIZE, SIZE)) for image in tests[:7]], backbone)
    assert GRAPH_CHUNK_PIXELS // SIZE ** 2 == 4  # so 7 frames run as chunks of 4 and 3
    chunked = backbone(batch)
    for index in range(len(batch)):
        alone = backbone(batch[index:index + 1])
        for stage, single in zip(chunked, alone):
            assert float((stage[index:index + 1] - single).abs().max()) <= 1e-4 * float(single.abs().max())


def test_shortlist_search_matches_exact_search(bottle) -> None:
    goldens, tests = bottle
    bank = fit_bank(goldens, REFERENCE)
    detector = Detector(bank)
    features = detector.embedded_features(detector.input_frames(tests), {})
    exact = PatchIndex(bank.memory).patch_scores(features)
    shortlist = ShortlistIndex(bank.memory).patch_scores(features)
    assert np.max(np.abs(shortlist - exact) / exact) <= 0.005
    assert _rank_correlation(exact.max(axis=(1, 2)), shortlist.max(axis=(1, 2))) >= 0.999


def test_bfloat16_path_agrees_with_float32_reference(bottle) -> None:
    goldens, tests = bottle
    reference = _scores(REFERENCE, goldens, tests)
    fast = _scores(replace(REFERENCE, precision="bfloat16", search="shortlist"), goldens, tests)
    assert _rank_correlation(reference, fast) >= 0.97
    assert np.max(np.abs(fast - reference) / reference) <= 0.15


def test_unknown_speed_option_is_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        DetectorSettings(precision="float16")
    with pytest.raises(ValueError, match="search"):
        DetectorSettings(search="hnsw")
