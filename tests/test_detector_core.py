"""The detector on real images: separation, determinism, coreset quality, threshold precedence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspectd.detector import Detector, fit_bank
from inspectd.detector.coreset import covering_radius, greedy_coreset
from inspectd.detector.scoring import defect_regions
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb
from support.banks import FAST_SETTINGS

FAST = FAST_SETTINGS


@pytest.fixture(scope="module")
def bottle(data_root: Path):
    return load_category(data_root / "mvtec_ad" / "bottle")


@pytest.fixture(scope="module")
def bottle_goldens(bottle):
    return [read_rgb(bottle.train_files[i]) for i in draw_shots(len(bottle.train_files), 1, 0)]


def test_one_shot_bottle_separates_goods_from_defects(bottle, bottle_goldens) -> None:
    # Measured 0.999 (seed 0, default settings). 0.95 leaves room for numeric drift, while a broken
    # feature, search or map stage lands near chance (0.5) on these 20 goods / 63 defects.
    inspections = Detector(fit_bank(bottle_goldens)).inspect(bottle.test_images)
    assert auroc(np.array([i.image_score for i in inspections]), bottle.test_labels) > 0.95
    first = inspections[0]
    assert first.anomaly_map.shape == (320, 320) and first.anomaly_map.dtype == np.float32  # the input shape
    frame_height, frame_width = bottle.test_images[0].shape[:2]
    assert all(0 <= r.x < r.x + r.width <= frame_width and 0 <= r.y < r.y + r.height <= frame_height
               for i in inspections for r in i.regions)  # boxes in frame pixels
    assert set(first.timings_ms) >= {"preprocess", "backbone", "embed", "search", "postprocess"}
    defective = [i for i, label in zip(inspections, bottle.test_labels) if label and i.is_defective]
    assert defective and all(i.regions and i.calibrated_score > 0.5 for i in defective)


def test_same_seed_same_bank(bottle_goldens) -> None:
    first, second = fit_bank(bottle_goldens, FAST), fit_bank(bottle_goldens, FAST)
    assert first.memory.tobytes() == second.memory.tobytes() and first.threshold == second.threshold


def test_coreset_covers_better_than_random_subset() -> None:
    points = np.random.default_rng(1).standard_normal((3000, 64)).astype(np.float32) ** 3
    selected = greedy_coreset(points, 150, seed=0)
    assert len(np.unique(selected)) == 150
    random_subset = np.random.default_rng(2).choice(len(points), 150, replace=False)
    assert covering_radius(points, selected) < 0.8 * covering_radius(points, random_subset)
    assert np.array_equal(selected, greedy_coreset(points, 150, seed=0))


def test_twins_left_out_of_the_coreset_select_the_same_rows() -> None:
    # Rows 0-999 hold their own vectors, rows 1000-2999 copies of them (as a rotated copy's mirrored cells hold
    # the golden's own): the coreset over the 1000 own rows, told of the twins, is the one over all 3000.
    rng = np.random.default_rng(3)
    own = rng.standard_normal((1000, 64)).astype(np.float32) ** 3
    twin_of = rng.integers(0, 1000, 2000)
    points = np.concatenate([own, own[twin_of]])
    twins = np.r_[np.arange(1000), twin_of]
    for seed in range(4):  # seeds whose random start falls on a twin too
        plain = greedy_coreset(points, 150, seed)
        told = greedy_coreset(points, 150, seed, twins)
        assert told.max() < 1000 and len(np.unique(told)) == 150
        assert np.array_equal(np.sort(twins[plain]), np.sort(told))


def test_threshold_override_wins_over_bank(bottle, bottle_goldens) -> None:
    bank = fit_bank(bottle_goldens, FAST)
    image = bottle.test_images[:1]
    from_bank = Detector(bank).inspect(image)[0]
    assert from_bank.threshold == bank.threshold
    lenient = Detector(bank, threshold_override=from_bank.image_score * 2).inspect(image)[0]
    strict = Detector(bank, threshold_override=from_bank.image_score / 2).inspect(image)[0]
    assert lenient.threshold == from_bank.image_score * 2 and not lenient.is_defective
    assert strict.is_defective and strict.calibrated_score > 0.5 > lenient.calibrated_score


def test_input_shape_keeps_aspect() -> None:
    from inspectd.detector.features import input_shape
    assert input_shape(512, 512, 320) == (320, 320)
    assert input_shape(512, 203, 320) == (512, 208)  # KolektorSDD commutator: ~320**2 pixels, unsquashed
    assert input_shape(341, 512, 320, keep_aspect=False) == (320, 320)
    height, width = input_shape(341, 512, 320)
    assert height % 16 == 0 and width % 16 == 0 and abs(width / height - 512 / 341) < 0.1  # sides rounded to 16


def test_non_square_frames_map_back_to_the_frame(bottle_goldens) -> None:
    goldens = [np.ascontiguousarray(image[:, 96:-96]) for image in bottle_goldens]  # 512 x 320, portrait
    bank = fit_bank(goldens, FAST)
    assert bank.manifest["input_shape"] == [288, 176]
    inspection = Detector(bank).inspect([goldens[0]])[0]
    assert inspection.anomaly_map.shape == (288, 176)
    assert not inspection.is_defective


def test_defect_boxes_scale_from_the_map_to_the_frame() -> None:
    anomaly_map = np.zeros((40, 20), np.float32)
    anomaly_map[10:15, 4:6] = 2.0  # one region: rows 10-14, columns 4-5
    anomaly_map[30, 19] = 3.0
    regions = defect_regions(anomaly_map, 1.0, (400, 100))  # frame 10x taller, 5x wider
    assert [(r.x, r.y, r.width, r.height, r.peak_score) for r in regions] == [
        (95, 300, 5, 10, 3.0), (20, 100, 10, 50, 2.0)]


def test_coreset_picks_the_rows_of_the_step_by_step_greedy(bottle, monkeypatch) -> None:
    """farthest_first measures only candidate rows between full passes; it must choose the rows the plain greedy
    (every row measured against each new centre) chooses, on real patch features over many passes."""
    import torch

    from inspectd.detector import coreset
    from inspectd.detector.fit import image_featurizer
    from inspectd.detector.backbone import get_backbone
    from inspectd.detector.features import resize_to

    monkeypatch.setattr(coreset, "CANDIDATES", 64)
    frame = resize_to(read_rgb(bottle.train_files[0]), (224, 224))
    rows = image_featurizer([frame], FAST, get_backbone(FAST.backbone))(0, FAST.augmentations)
    points = torch.from_numpy(rows.reshape(-1, rows.shape[-1])[:, :128].copy())
    chosen = coreset.farthest_first(points, 0, 300)
    plain, nearest = [0], torch.full((len(points),), float("inf"))
    for _ in range(299):
        torch.minimum(nearest, ((points - points[plain[-1]]) ** 2).sum(1), out=nearest)
        plain.append(int(torch.argmax(nearest)))
    assert len(set(chosen.tolist())) == 300
    assert set(chosen.tolist()) == set(plain)
