"""The anomaly map lands where the part differs (detector/registration.py), on real Lite0 weights and real images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from inspectd.detector import Detector, fit_bank
from inspectd.detector.backbone import get_backbone
from inspectd.detector.features import patch_features, resize_to, to_batch
from inspectd.detector.registration import STRIDE, grid_centre
from inspectd.detector.scoring import anomaly_maps, registered, scores_and_maps
from inspectd.detector.settings import AugmentationSet, DetectorSettings
from inspectd.evaluation.metrics import auroc
from inspectd.images import image_files, read_rgb

AS_AN_IMAGE = (STRIDE - 1) / 2  # the centre that upsampling the grid as an image assumes
SETTINGS = replace(DetectorSettings(), input_size=224, augmentations=AugmentationSet(rotations=4, gains=()))


def test_maps_are_upsampled_as_an_image_and_registration_moves_them_by_the_offset() -> None:
    grid = np.random.default_rng(0).random((1, 28, 20)).astype(np.float32)
    placed = anomaly_maps(grid, (224, 160), 0)
    np.testing.assert_allclose(placed[0], cv2.resize(grid[0], (160, 224), interpolation=cv2.INTER_LINEAR), atol=1e-6)
    earlier = registered(placed, AS_AN_IMAGE - STRIDE, STRIDE)[0]  # one cell up and left
    np.testing.assert_allclose(earlier[:-STRIDE, :-STRIDE], placed[0, STRIDE:, STRIDE:], atol=1e-6)
    np.testing.assert_array_equal(earlier[-1], earlier[-STRIDE - 1])  # the uncovered edge repeats the last row
    assert registered(placed, AS_AN_IMAGE, STRIDE) is placed


def test_a_dot_on_a_real_part_lights_the_map_where_it_was_drawn(data_root: Path) -> None:
    part = resize_to(read_rgb(image_files(data_root / "mpdd_resized512" / "metal_plate" / "test" / "good")[0]),
                     (224, 224))
    backbone = get_backbone(SETTINGS.backbone)
    centre = grid_centre(SETTINGS)
    misses: dict[float, list[float]] = {centre: [], AS_AN_IMAGE: []}
    for y, x in [(70, 90), (150, 131), (101, 180), (40, 45), (185, 60), (120, 120)]:
        dotted = part.copy()
        dotted[y - 2:y + 3, x - 2:x + 3] = 255
        features = patch_features(backbone, to_batch([part, dotted], backbone), "float32", SETTINGS.feature_norm_power)
        change = np.linalg.norm(features[1] - features[0], axis=-1)[None]
        for at, missed in misses.items():
            placed = registered(anomaly_maps(change, (224, 224), SETTINGS.map_sigma()), at, STRIDE)[0]
            missed.append(float(np.hypot(*(np.unravel_index(placed.argmax(), placed.shape) - np.array([y, x])))))
    miss, miss_unregistered = np.mean(misses[centre]), np.mean(misses[AS_AN_IMAGE])
    assert miss <= 6.0, misses  # within a cell (measured 4.5 px on average)
    assert miss_unregistered >= 2 * miss, misses  # unregistered: 11.5 px, the test can fail


def test_registered_maps_cover_real_defects_better(data_root: Path) -> None:
    root = data_root / "mpdd_resized512" / "metal_plate"
    detector = Detector(fit_bank([read_rgb(image_files(root / "train" / "good")[0])], SETTINGS))
    defective = image_files(root / "test" / "defect")[:8]
    frames = [resize_to(read_rgb(path), detector.input_shape) for path in defective]
    masks = [cv2.resize(read_rgb(root / "ground_truth" / "defect" / f"{path.stem}_mask.png")[:, :, 0],
                        detector.input_shape[::-1], interpolation=cv2.INTER_NEAREST) > 0 for path in defective]
    features = detector.embedded_features(frames, {})
    truth = np.stack(masks).ravel()
    _, maps = detector.score_maps(features, {})  # registered on the detector's measured centre
    unregistered = anomaly_maps(detector.index.patch_scores(features), detector.input_shape, SETTINGS.map_sigma())
    placed_right, placed_as_an_image = auroc(maps.ravel(), truth), auroc(unregistered.ravel(), truth)
    assert placed_right > placed_as_an_image + 0.01, (placed_right, placed_as_an_image)


def test_a_defect_in_the_first_cell_still_counts_in_the_image_score() -> None:
    grid = np.zeros((1, 28, 28), np.float32)
    grid[0, 0, 0] = 1.0  # the cell whose registered centre lies 7.75 px before the frame
    centre = grid_centre(SETTINGS)
    scores, maps = scores_and_maps(grid, (224, 224), SETTINGS.map_sigma(), centre, 1)
    whole = anomaly_maps(grid, (224, 224), SETTINGS.map_sigma())
    assert scores[0] == whole.max()
    assert maps.max() < 0.5 * scores[0]  # the registered frame has only its edge: the test can fail
