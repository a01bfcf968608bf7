"""Operator feedback on real images: a good frame becomes a new, bounded bank version whose threshold is
recalibrated from the goldens' stored hold-out features (scaled by their median drop), never raised to the
frame's score (screw: its
goods vary enough for a 2-golden bank to reject some); the stored features round-trip bit-exactly and
damaged ones are refused; a defective frame never enters the bank."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.banks import resign_checksums
from support.inprocess import FAST_SETTINGS, small_images

from inspectd.detector import BankError, BankStore, Detector, fit_bank, load_bank
from inspectd.detector.bank import MANIFEST_FILE, MEMORY_FILE
from inspectd.detector.calibration import leave_one_group_out_scores
from inspectd.detector.feedback import FEEDBACK_DIR, MEMORY_GROWTH, image_sha256, submit_feedback
from inspectd.detector.presence import presence_calibration


@pytest.fixture(scope="module")
def goldens(data_root) -> list[np.ndarray]:
    return small_images(data_root, "bottle", "train/good", 2)


def test_good_frame_joins_a_new_bounded_version_and_defective_never_does(tmp_path, data_root):
    banks = tmp_path / "banks"
    store = BankStore(banks)
    # whole frames: a pose-aligned 2-golden bank rejects none of the 41 test goods at this size (test_pose.py
    # feeds one back to an aligned bank)
    whole_frame = replace(FAST_SETTINGS, pose="off")
    fitted = store.write("screw", fit_bank(small_images(data_root, "screw", "train/good", 2), whole_frame))
    detector = Detector(load_bank(fitted))
    goods = sorted(small_images(data_root, "screw", "test/good", 6),
                   key=lambda image: -detector.inspect([image])[0].image_score)[:3]
    defect = small_images(data_root, "screw", "test/scratch_head", 1)[0]

    before = detector.inspect([goods[0]])[0].image_score
    assert before > detector.threshold, "screw goods vary: the worst of six is a false reject"
    report = submit_feedback(banks, "screw", goods[0], "good", frame_id="f0")
    assert report.version_dir == store.latest("screw") and report.version_dir.name == "v0002"
    bank = load_bank(report.version_dir)
    assert bank.manifest["feedback"]["frames"][0]["sha256"] == image_sha256(goods[0])
    assert bank.threshold == report.new_threshold and bank.threshold >= 0
    assert Detector(bank).inspect([goods[0]])[0].image_score < 0.9 * before, "its worst-covered patches joined the bank"
    # the frame was picked for scoring above the threshold: the threshold is not raised to its score
    assert report.new_threshold < report.frame_score
    assert report.new_threshold <= report.old_threshold * 1.001, "a grown bank only lowers the goldens' hold-out scores"
    assert _recalibrated(bank) == pytest.approx(bank.manifest["calibration"]["holdout_scores"], abs=1e-6)
    fit_scores, grown_scores = (np.array(b.manifest["calibration"]["holdout_scores"]) for b in (load_bank(fitted), bank))
    assert bank.threshold == pytest.approx(report.old_threshold * np.median(grown_scores / fit_scores), rel=1e-5)

    for image in goods[1:]:
        report = submit_feedback(banks, "screw", image, "good")
    bank = load_bank(store.latest("screw"))
    assert len(bank.manifest["feedback"]["frames"]) == 3
    assert len(bank.memory) <= MEMORY_GROWTH * len(load_bank(fitted).memory)
    assert len(bank.row_groups) == len(bank.memory)
    assert _recalibrated(bank) == pytest.approx(bank.manifest["calibration"]["holdout_scores"], abs=1e-6)
    # the presence check is recalibrated on the goldens' rows of the grown (and re-thinned) memory
    assert bank.manifest["presence"] == presence_calibration(bank.memory, bank.row_groups, bank.holdout_features)

    kept = submit_feedback(banks, "screw", defect, "defective", frame_id="f9")
    assert kept.version_dir is None and store.latest("screw").name == "v0004"
    digests = [f["sha256"] for v in store.versions("screw") for f in json.loads(
        (v / "manifest.json").read_text()).get("feedback", {}).get("frames", [])]
    assert image_sha256(defect) not in digests
    record = json.loads((banks / "screw" / FEEDBACK_DIR / "defective" / f"{kept.frame_sha256}.json").read_text())
    assert record["frame_id"] == "f9" and record["label"] == "defective"


def _recalibrated(bank) -> list[float]:
    """The hold-out scores recomputed from the arrays read back from disk."""
    return list(leave_one_group_out_scores(bank.memory, bank.row_groups, bank.holdout_features, bank.settings,
                                           tuple(bank.manifest["input_shape"])))


def test_stored_holdout_features_round_trip_bit_exactly(tmp_path, goldens):
    bank = fit_bank(goldens, FAST_SETTINGS)
    loaded = load_bank(BankStore(tmp_path).write("bottle", bank))
    for name in ("memory", "row_groups", "holdout_features"):
        ours, theirs = getattr(bank, name), getattr(loaded, name)
        assert theirs.dtype == ours.dtype and theirs.tobytes() == ours.tobytes(), name
    assert loaded.holdout_features.shape[0] == len(goldens) and set(loaded.row_groups) == {0, 1}


def _rewrite_arrays(version_dir: Path, **changes: np.ndarray | None) -> None:
    """Replace (None: drop) arrays of memory.npz and re-sign, so only the content checks can refuse it."""
    with np.load(version_dir / MEMORY_FILE) as stored:
        arrays = {**dict(stored), **changes}
    np.savez(version_dir / MEMORY_FILE, **{name: array for name, array in arrays.items() if array is not None})
    resign_checksums(version_dir)


@pytest.mark.parametrize("changes, message", [
    (lambda b: {"holdout_features": None}, "not a valid bank array file"),
    (lambda b: {"row_groups": b.row_groups[:-1]}, "row_groups has"),
    (lambda b: {"holdout_features": b.holdout_features.astype(np.float64)}, "holdout_features must be a 4-D float32"),
    (lambda b: {"holdout_features": b.holdout_features[:1]}, "hold-out features shape"),
])
def test_damaged_holdout_arrays_refused(tmp_path, goldens, changes, message):
    bank = fit_bank(goldens, FAST_SETTINGS)
    version_dir = BankStore(tmp_path).write("bottle", bank)
    _rewrite_arrays(version_dir, **changes(bank))
    with pytest.raises(BankError, match=message):
        load_bank(version_dir)


def test_format_1_bank_still_scores_but_feedback_asks_for_a_refit(tmp_path, data_root, goldens):
    version_dir = BankStore(tmp_path).write("bottle", fit_bank(goldens, FAST_SETTINGS))
    _rewrite_arrays(version_dir, row_groups=None, holdout_features=None)
    manifest = json.loads((version_dir / MANIFEST_FILE).read_text())
    manifest["format_version"] = 1
    del manifest["holdout_shape"]
    (version_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    resign_checksums(version_dir)

    old = load_bank(version_dir)
    assert old.holdout_features is None and Detector(old).inspect(goldens[:1])[0].image_score >= 0
    with pytest.raises(BankError, match="no stored hold-out features .* refit"):
        submit_feedback(tmp_path, "bottle", small_images(data_root, "bottle", "test/good", 1)[0], "good")
    assert BankStore(tmp_path).latest("bottle") == version_dir
