"""The packaged Lite0 weights are the expected file and still classify real photos correctly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from inspectd.detector.backbone import BackboneError, get_backbone, sha256_file
from inspectd_plugins.backbones.efficientnet_lite0 import WEIGHTS_SHA256, EfficientNetLite0, default_weights_path

CAT_IDS = {281, 282, 283, 284, 285}
ESPRESSO_IDS = {967, 968, 504}


def top3(image: np.ndarray) -> set[int]:
    backbone = get_backbone("efficientnet_lite0")
    resized = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    batch = (torch.from_numpy(resized).permute(2, 0, 1)[None] - 0.5) / 0.5
    with torch.inference_mode():
        return set(backbone.net(batch).topk(3).indices[0].tolist())


def test_packaged_weights_hash() -> None:
    assert sha256_file(default_weights_path()) == WEIGHTS_SHA256


def test_chelsea_is_a_cat_and_coffee_an_espresso() -> None:
    assert top3(skimage.data.chelsea()) & CAT_IDS
    assert top3(skimage.data.coffee()) & ESPRESSO_IDS


def test_altered_weights_are_refused(tmp_path) -> None:
    altered = tmp_path / "lite0.pth"
    data = bytearray(default_weights_path().read_bytes())
    data[-100] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(BackboneError, match="sha256"):
        EfficientNetLite0(altered)


@pytest.mark.parametrize("name", ["resnet18", "wide_resnet50_2"])
def test_torchvision_backbone_without_local_file_names_the_path(tmp_path, name: str) -> None:
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(BackboneError, match=str(missing)):
        get_backbone(name, str(missing))


def test_torchvision_backbone_from_local_file(tmp_path) -> None:
    import torchvision

    weights = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    stride8, stride16 = get_backbone("resnet18", str(weights))(torch.zeros(1, 3, 224, 224))
    assert stride8.shape == (1, 128, 28, 28) and stride16.shape == (1, 256, 14, 14)
