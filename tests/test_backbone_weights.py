"""The packaged Lite weights are the expected files and still classify real photos correctly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from inspectd.detector.backbone import BackboneError, get_backbone, sha256_file
from inspectd_plugins.backbones.efficientnet_lite import (EfficientNetLite0, EfficientNetLite1, EfficientNetLite2,
                                                          _EfficientNetLite)

CAT_IDS = {281, 282, 283, 284, 285}
ESPRESSO_IDS = {967, 968, 504}
LITES = [EfficientNetLite0, EfficientNetLite1, EfficientNetLite2]


def top3(name: str, image: np.ndarray) -> set[int]:
    backbone = get_backbone(name)
    resized = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    batch = (torch.from_numpy(resized).permute(2, 0, 1)[None] - 0.5) / 0.5
    with torch.inference_mode():
        return set(backbone.net(batch).topk(3).indices[0].tolist())


@pytest.mark.parametrize("lite", LITES, ids=lambda lite: lite.name)
def test_packaged_weights_hash(lite) -> None:
    assert sha256_file(lite.default_weights_path()) == lite.weights_sha256_expected


@pytest.mark.parametrize("lite", LITES, ids=lambda lite: lite.name)
def test_chelsea_is_a_cat_and_coffee_an_espresso(lite) -> None:
    """The net built from the width and depth scale loads its state dict strictly and still classifies."""
    assert top3(lite.name, skimage.data.chelsea()) & CAT_IDS
    assert top3(lite.name, skimage.data.coffee()) & ESPRESSO_IDS


@pytest.mark.parametrize(("lite", "channels"), [(EfficientNetLite0, (40, 112)), (EfficientNetLite2, (48, 120))],
                         ids=["lite0", "lite2"])
def test_feature_stages_are_stride_8_and_16(lite, channels: tuple[int, int]) -> None:
    stride8, stride16 = get_backbone(lite.name)(torch.zeros(1, 3, 224, 224))
    assert get_backbone(lite.name).channels == channels
    assert stride8.shape == (1, channels[0], 28, 28) and stride16.shape == (1, channels[1], 14, 14)


def test_altered_weights_are_refused(tmp_path) -> None:
    altered = tmp_path / "lite0.pth"
    data = bytearray(EfficientNetLite0.default_weights_path().read_bytes())
    data[-100] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(BackboneError, match="sha256"):
        EfficientNetLite0(altered)


def test_a_lite_variant_without_its_package_names_the_package() -> None:
    class NotInstalled(_EfficientNetLite):
        name = "efficientnet_lite9"

    with pytest.raises(BackboneError, match="efficientnet-lite9-pytorch-model"):
        NotInstalled()


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
