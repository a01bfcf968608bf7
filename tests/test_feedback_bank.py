"""Operator feedback on real images: a good frame becomes a new, bounded bank version; a defective one never does."""

from __future__ import annotations

import json

from support.inprocess import FAST_SETTINGS, small_images

from inspectd.detector import BankStore, Detector, fit_bank, load_bank
from inspectd.detector.feedback import FEEDBACK_DIR, MEMORY_GROWTH, image_sha256, submit_feedback


def test_good_frame_joins_a_new_bounded_version_and_defective_never_does(tmp_path, data_root):
    banks = tmp_path / "banks"
    store = BankStore(banks)
    fitted = store.write("bottle", fit_bank(small_images(data_root, "bottle", "train/good", 2), FAST_SETTINGS))
    goods = small_images(data_root, "bottle", "test/good", 3)
    defect = small_images(data_root, "bottle", "test/broken_large", 1)[0]

    before = Detector(load_bank(fitted)).inspect([goods[0]])[0].image_score
    report = submit_feedback(banks, "bottle", goods[0], "good", frame_id="f0")
    assert report.version_dir == store.latest("bottle") and report.version_dir.name == "v0002"
    bank = load_bank(report.version_dir)
    assert bank.manifest["feedback"]["frames"][0]["sha256"] == image_sha256(goods[0])
    assert bank.threshold == report.new_threshold and bank.threshold >= 0
    assert Detector(bank).inspect([goods[0]])[0].image_score < 0.9 * before, "its worst-covered patches joined the bank"

    for image in goods[1:]:
        report = submit_feedback(banks, "bottle", image, "good")
    bank = load_bank(store.latest("bottle"))
    assert len(bank.manifest["feedback"]["frames"]) == 3
    assert len(bank.memory) <= MEMORY_GROWTH * len(load_bank(fitted).memory)

    kept = submit_feedback(banks, "bottle", defect, "defective", frame_id="f9")
    assert kept.version_dir is None and store.latest("bottle").name == "v0004"
    digests = [f["sha256"] for v in store.versions("bottle") for f in json.loads(
        (v / "manifest.json").read_text()).get("feedback", {}).get("frames", [])]
    assert image_sha256(defect) not in digests
    record = json.loads((banks / "bottle" / FEEDBACK_DIR / "defective" / f"{kept.frame_sha256}.json").read_text())
    assert record["frame_id"] == "f9" and record["label"] == "defective"
