"""The eval's false-reject and escape rates are the daemon's verdict: a frame the presence check fails
counts as rejected even when its anomaly score is below the threshold. A category in MVTec layout is
written from real screw images, with empty fixtures (no part) as its defectives."""

from __future__ import annotations

import cv2
from support.images import background_only
from support.inprocess import IMAGE_SIZE, small_images

from inspectd.detector import AugmentationSet, DetectorSettings
from inspectd.evaluation.harness import evaluate

# whole frames: an aligned crop of an empty fixture (detector/pose.py) already scores above the threshold, and
# the test needs empties that pass on their score alone
SETTINGS = DetectorSettings(input_size=IMAGE_SIZE, augmentations=AugmentationSet(rotations=4), pose="off")


def test_empty_fixtures_count_as_rejected_in_the_eval(tmp_path, data_root):
    category = tmp_path / "fixture" / "screw"
    goods = small_images(data_root, "screw", "test/good", 6)
    folders = {"train/good": small_images(data_root, "screw", "train/good", 3), "test/good": goods[:3],
               "test/empty": [background_only(image) for image in goods[3:]]}
    for folder, images in folders.items():
        (category / folder).mkdir(parents=True)
        for i, image in enumerate(images):
            cv2.imwrite(str(category / folder / f"{i:03d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    default, = evaluate([category], [2], [0], "graphcore", SETTINGS)
    plain, = evaluate([category], [2], [0], "patchcore", SETTINGS)
    assert default.escape_rate == 0.0  # every empty fixture fails
    # some pass on their anomaly score alone: the presence check is what fails them
    assert default.failed_by_presence_only >= 1
    assert plain.failed_by_presence_only is None  # plain PatchCore's verdict is its score alone
