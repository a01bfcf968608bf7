"""The part presence check, on real screw images: an empty fixture (the frames' own background, no part)
fails, goods with their part do not; banks written before the check load and serve without it; the
operator can turn it off per product."""

from __future__ import annotations

import pytest
import structlog
from support.images import background_only
from support.inprocess import IMAGE_SIZE, small_images

from inspectd.config.products import ProductConfig
from inspectd.daemon.banks import ProductBank
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.detector import AugmentationSet, BankStore, Detector, DetectorSettings, fit_bank, load_bank
from inspectd.detector.presence import MARGIN

SETTINGS = DetectorSettings(input_size=IMAGE_SIZE, augmentations=AugmentationSet(rotations=4))


@pytest.fixture(scope="module")
def screw_bank(data_root):
    return fit_bank(small_images(data_root, "screw", "train/good", 3), SETTINGS)


def test_empty_fixture_fails_and_goods_keep_their_part(screw_bank, data_root):
    presence = screw_bank.manifest["presence"]
    assert len(presence["holdout"]) == 3 and presence["margin"] == MARGIN
    assert presence["threshold"] == pytest.approx(MARGIN * max(presence["holdout"]), rel=1e-5)
    detector = Detector(screw_bank)
    goods = small_images(data_root, "screw", "test/good", 4)
    empty = [background_only(image) for image in goods]
    assert not any(i.part_missing for i in detector.inspect(goods))
    missing = detector.inspect(empty)
    assert all(i.part_missing and i.is_defective for i in missing)
    assert all("presence" in i.timings_ms for i in missing)


def test_bank_without_presence_block_serves_without_the_check(screw_bank, tmp_path, data_root):
    manifest = {key: value for key, value in screw_bank.manifest.items() if key != "presence"}
    older = type(screw_bank)(memory=screw_bank.memory, manifest=manifest, row_groups=screw_bank.row_groups,
                             holdout_features=screw_bank.holdout_features)
    detector = Detector(load_bank(BankStore(tmp_path).write("screw", older)))
    assert detector.presence is None
    empty = background_only(small_images(data_root, "screw", "test/good", 1)[0])
    assert not detector.inspect([empty])[0].part_missing


def test_operator_can_turn_the_check_off_per_product(screw_bank, tmp_path, data_root):
    BankStore(tmp_path).write("screw", screw_bank)
    empty = background_only(small_images(data_root, "screw", "test/good", 1)[0])
    verdicts = {}
    for presence_check in (True, False):
        product = ProductBank("screw", ProductConfig(banks_dir=tmp_path, presence_check=presence_check),
                              DaemonMetrics(), lambda event: None, structlog.get_logger())
        product.refresh()
        verdicts[presence_check] = product.detector.inspect([empty])[0].part_missing
    assert verdicts == {True: True, False: False}


def test_a_broken_part_is_a_defect_not_a_missing_part(data_root):
    """A bottle fills its frame (no outline): an empty fixture leaves nothing the goldens show, a broken bottle most
    of it. Both fail; only the empty one is reported as a missing part."""
    bank = fit_bank(small_images(data_root, "bottle", "train/good", 1), SETTINGS)
    assert bank.manifest["part_outline"] is None
    detector = Detector(bank)
    broken = detector.inspect(small_images(data_root, "bottle", "test/broken_large", 8))
    assert all(i.is_defective and not i.part_missing for i in broken)
    empty = detector.inspect([background_only(image) for image in small_images(data_root, "bottle", "test/good", 3)])
    assert all(i.is_defective and i.part_missing for i in empty)
