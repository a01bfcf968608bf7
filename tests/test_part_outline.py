"""The part's outline: learnt from the goldens' background, it hides map values off the part and never a verdict."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspectd.detector import Detector, DetectorSettings, fit_bank
from inspectd.detector.features import resize_to
from inspectd.detector.part_outline import PartOutline, _squared_distances, _whitening, fit_outline
from inspectd.detector.refit import refit_product
from inspectd.evaluation.dataset import load_category
from inspectd.images import read_rgb
from support.banks import FAST_SETTINGS

SHAPE = (224, 224)


@pytest.fixture(scope="module")
def fryum(data_root: Path):
    return load_category(data_root / "visa" / "fryum")


def frames(images: list[np.ndarray]) -> np.ndarray:
    return np.stack([resize_to(image, SHAPE) for image in images])


def goldens(category, count: int = 1) -> np.ndarray:
    return frames([read_rgb(path) for path in category.train_files[:count]])


def test_the_outline_holds_the_part_and_not_the_mat(fryum) -> None:
    outline = fit_outline(goldens(fryum))
    assert outline is not None and 0.1 < outline.golden_share < 0.7
    assert PartOutline.from_dict(outline.to_dict()) == outline
    defective = np.flatnonzero(fryum.test_labels == 1)[::10]
    shown = outline.outlines(frames([fryum.test_images[i] for i in defective]))
    for inside, mask in zip(shown, [fryum.test_masks[i] for i in defective]):
        defect = cv2.resize(mask, SHAPE[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
        assert not inside[:10, :10].any() and not inside[-10:, -10:].any()  # the mat's corners
        assert inside[defect].mean() > 0.95  # defects lie on the part, chips and breaks included


@pytest.mark.parametrize("category", ["kolektorsdd/commutator", "mvtec_ad/bottle"])
def test_no_outline_where_the_part_is_not_on_a_background(data_root: Path, category: str) -> None:
    """A texture that fills the frame (commutator) and a part that nearly does (bottle): nothing to hide."""
    assert fit_outline(goldens(load_category(data_root / category), 2)) is None


def test_off_the_part_only_the_region_holding_an_above_threshold_peak_stays(fryum) -> None:
    outline = fit_outline(goldens(fryum))
    frame = frames(fryum.test_images[-1:])
    inside = outline.outlines(frame)[0]
    on_part = np.where(inside, 1.0, 0.5).astype(np.float32)[None]
    restricted = outline.restrict(on_part, frame, threshold=0.75)
    assert (restricted[0][~inside] == 0).all() and (restricted[0][inside] == 1.0).all()
    # the mat's two hot spots above the threshold: the one holding the map's peak failed the frame and stays
    mat = np.where(inside, 0.2, 0.3).astype(np.float32)
    mat[:6, :6], mat[-6:, -6:] = 2.0, 1.5
    assert not inside[:6, :6].any() and not inside[-6:, -6:].any()
    shown = outline.restrict(mat[None], frame, threshold=0.75)[0]
    np.testing.assert_array_equal(shown[:6, :6], mat[:6, :6])
    assert not shown[~inside & (mat < 2.0)].any()  # the other hot spot and the sub-threshold mat hidden
    np.testing.assert_array_equal(shown[inside], mat[inside])
    # the same map against a threshold above its peak: nothing off the part decided the verdict
    assert not outline.restrict(mat[None], frame, threshold=2.5)[0][~inside].any()
    blank = np.ascontiguousarray(np.broadcast_to(frame[0][:8, :8].mean((0, 1)).astype(np.uint8), frame.shape))
    np.testing.assert_array_equal(outline.restrict(on_part, blank, 0.75), on_part)  # the part not found: left whole


def test_the_detector_shows_the_part_and_scores_the_whole_frame(fryum) -> None:
    golden = read_rgb(fryum.train_files[0])
    defective = [fryum.test_images[i] for i in np.flatnonzero(fryum.test_labels == 1)[:8]]
    outlined_bank = fit_bank([golden], FAST_SETTINGS)
    assert outlined_bank.manifest["part_outline"] is not None
    outline = PartOutline.from_dict(outlined_bank.manifest["part_outline"])
    whole = Detector(fit_bank([golden], replace(FAST_SETTINGS, part_outline="off")))
    assert whole.bank.manifest["part_outline"] is None
    shown_on_part = peaks_off_part = 0
    for outlined, whole_frame, frame in zip(Detector(outlined_bank).inspect(defective), whole.inspect(defective),
                                            defective):
        assert outlined.image_score == pytest.approx(whole_frame.image_score, rel=1e-6)
        assert outlined.is_defective == whole_frame.is_defective and "outline" in outlined.timings_ms
        inside = outline.outlines(resize_to(frame, outlined.anomaly_map.shape)[None])[0]
        np.testing.assert_array_equal(outlined.outline, inside)  # what the heatmap traces
        np.testing.assert_array_equal(outlined.anomaly_map[inside], whole_frame.anomaly_map[inside])
        assert whole_frame.anomaly_map[~inside].min() > 0 and whole_frame.outline is None
        shown_off_part = outlined.anomaly_map[~inside] > 0
        if inside[np.unravel_index(int(whole_frame.anomaly_map.argmax()), inside.shape)]:
            shown_on_part += 1
            assert not shown_off_part.any()
        elif whole_frame.anomaly_map.max() > outlined.threshold:
            # its peak lies on the mat above the threshold: what failed the frame, and its box, are shown there
            peaks_off_part += 1
            assert outlined.anomaly_map.max() == whole_frame.anomaly_map.max() and outlined.is_defective
            assert (whole_frame.anomaly_map[~inside][shown_off_part] > outlined.threshold).all()
            assert outlined.regions[0] == whole_frame.regions[0]
        else:  # nothing above the threshold: nothing off the part decided the verdict
            assert not shown_off_part.any()
    assert shown_on_part >= 4
    assert peaks_off_part >= 1  # measured 1 of these 8: the rule for a peak on the mat is exercised


def test_colour_distances_are_the_mahalanobis_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    colours = rng.uniform(0, 255, (50, 40, 3)).astype(np.float32)  # a frame's Lab pixels
    spread = rng.normal(size=(3, 3))
    inverse, mean = spread @ spread.T + 0.1 * np.eye(3), np.array([120.0, 130.0, 125.0])
    centred = colours.reshape(-1, 3).astype(np.float64) - mean
    expected = ((centred @ inverse) * centred).sum(1).reshape(50, 40)
    np.testing.assert_allclose(_squared_distances(colours, _whitening(mean, inverse)), expected, rtol=1e-4,
                               atol=1e-2)


def test_an_unknown_part_outline_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="part_outline must be one of"):
        DetectorSettings().with_overrides({"part_outline": "on"})


def test_refit_says_when_the_heatmap_shows_the_part(fryum, data_root: Path, tmp_path: Path) -> None:
    for category, shown in ((fryum, True), (load_category(data_root / "mvtec_ad" / "bottle"), False)):
        golden = tmp_path / category.name.replace("/", "-")
        golden.mkdir()
        shutil.copy(category.train_files[0], golden)
        report = refit_product("part", golden, tmp_path / "banks", FAST_SETTINGS)
        assert ("the heatmap shows the part's outline" in report.summary()) is shown
        assert (report.outline_share is not None) is shown
