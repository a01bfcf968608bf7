"""Registration of parts that are not long: a frame's turn against the goldens' pose from its edges round the part's
centre, fitted only where the goldens' turns add up, and the structural check it opens for a part at any angle (the
demo's flange: a missing bolt hole shows only metal the goldens show elsewhere)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspectd.demo.parts import generate_line
from inspectd.detector import Detector, DetectorSettings, fit_bank
from inspectd.detector.augment import rotate
from inspectd.detector.features import resize_to
from inspectd.detector.fit import golden_input_shape, golden_outline
from inspectd.detector.part_registration import (cycle_error, pairwise_turns, part_centre, part_extent,
                                                 polar_signature, registered_turn, turn_gap)
from inspectd.detector.pose import REGISTERED_GOLDENS, REGISTRATION_LIMIT, PoseAlignment, fit_pose
from inspectd.evaluation.dataset import draw_shots
from inspectd.images import image_files, read_rgb


@pytest.fixture(scope="module")
def line() -> dict:
    return generate_line(7, 8, 16, 8)


@pytest.fixture(scope="module")
def goldens(line: dict) -> list[np.ndarray]:
    return [item.image for item in line["golden"]]


@pytest.mark.parametrize("turn", [23.0, 97.0, 211.0, 340.5])
def test_a_turned_golden_is_found_turned_by_as_much(goldens: list[np.ndarray], turn: float) -> None:
    outline = golden_outline(goldens, DetectorSettings())
    centre, radius = part_extent(outline, goldens[0])
    turned = rotate(goldens[0], turn, border=cv2.BORDER_REPLICATE)
    found = registered_turn(polar_signature(goldens[0], centre, radius),
                            polar_signature(turned, part_centre(outline, turned), radius))
    assert turn_gap(found - turn) < 0.5


def test_the_flanges_turns_add_up_and_it_is_registered(goldens: list[np.ndarray]) -> None:
    pose = fit_pose(goldens, golden_outline(goldens, DetectorSettings()), DetectorSettings())
    assert pose is not None and pose.registered
    assert pose.axis_error <= REGISTRATION_LIMIT
    assert pose.window[0] == pose.window[1] and pose.input_shape == (320, 320)
    assert pose.rotations == (0.0, 6.0, -6.0)  # the turn is read whole: no copies about 180 degrees
    restored = PoseAlignment.from_dict(pose.to_dict())
    assert np.array_equal(restored.reference_signature, pose.reference_signature)
    # every golden's crop shows the key notch at one place: the crops agree far better than the frames
    crops = pose.crops(goldens, pose.placements(goldens))
    frames_gap = np.mean([np.abs(goldens[0].astype(int) - g.astype(int)).mean() for g in goldens[1:]])
    crops_gap = np.mean([np.abs(crops[0].astype(int) - c.astype(int)).mean() for c in crops[1:]])
    assert crops_gap < 0.6 * frames_gap


def test_too_few_goldens_or_an_unreadable_reference_give_no_registration(goldens: list[np.ndarray]) -> None:
    few = goldens[:REGISTERED_GOLDENS - 1]
    assert fit_pose(few, golden_outline(few, DetectorSettings()), DetectorSettings()) is None
    data = fit_pose(goldens, golden_outline(goldens, DetectorSettings()), DetectorSettings()).to_dict()
    with pytest.raises(ValueError, match="pose reference"):
        PoseAlignment.from_dict({**data, "reference": data["reference"][:64]})


def test_parts_whose_turns_do_not_add_up_are_not_registered(data_root) -> None:
    """fryum (a snack, no two alike) and bottle (round, seen from above) at 4 and 8 goldens, seeds 0-2."""
    settings = DetectorSettings()
    for category in ("visa/fryum", "mvtec_ad/bottle"):
        files = image_files(data_root / category / "train" / "good")
        for shots in (4, 8):
            for seed in (0, 1, 2):
                images = [read_rgb(files[i]) for i in draw_shots(len(files), shots, seed)]
                frames = [resize_to(image, golden_input_shape(images, settings)) for image in images]
                outline = golden_outline(frames, settings)
                assert outline is None or fit_pose(frames, outline, settings) is None, (category, shots, seed)
                if outline is not None and category == "visa/fryum":
                    extents = [part_extent(outline, frame) for frame in frames]
                    centres = [centre for centre, _ in extents]
                    radius = max(reach for _, reach in extents)
                    turns = pairwise_turns([polar_signature(f, c, radius) for f, c in zip(frames, centres)])
                    assert cycle_error(turns) > 3 * REGISTRATION_LIMIT


def test_the_demos_missing_holes_fail_and_its_good_parts_pass(line: dict, goldens: list[np.ndarray]) -> None:
    bank = fit_bank(goldens, DetectorSettings())
    assert bank.manifest["pose"]["reference"] and bank.manifest["structure"] is not None
    inspections = Detector(bank).inspect([item.image for item in line["stream"]])
    kinds = [item.defect for item in line["stream"]]
    missing = [i.image_score for i, kind in zip(inspections, kinds) if kind == "missing_hole"]
    goods = [i for i, kind in zip(inspections, kinds) if kind is None]
    # measured: 6.35 and 5.98 against a threshold of 3.53 (goods at most 3.05). The whole frame (pose off) scored them
    # 3.47 and 3.49 against 3.39, and a good part 3.49: no margin either way
    assert len(missing) == 2 and min(missing) > 1.4 * bank.threshold
    assert not any(i.is_defective for i in goods)
    assert all(i.is_defective for i, kind in zip(inspections, kinds) if kind is not None)
    # an empty belt has no part to register: it is turned at whatever angle, and fails as a missing part
    belt = cv2.GaussianBlur(np.random.default_rng(3).normal(70, 6, (320, 320)).astype(np.float32), (0, 0), 1.2)
    empty = Detector(bank).inspect([np.clip(np.dstack([belt * 0.95, belt, belt * 1.05]), 0, 255).astype(np.uint8)])[0]
    assert empty.part_missing and empty.is_defective
