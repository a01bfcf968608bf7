"""torchvision ResNets (layer2 = stride 8, layer3 = stride 16) from a local weights file.

Nothing downloads: the weights file must be named in the product's settings.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

from inspectd.detector.backbone import BackboneError, FeatureBackbone, load_state_dict_checked

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _TorchvisionResNet(FeatureBackbone):
    builder: staticmethod
    mean = IMAGENET_MEAN
    std = IMAGENET_STD

    def __init__(self, weights_path: str | Path | None = None) -> None:
        if not weights_path:
            raise BackboneError(f"backbone {self.name} needs a local weights file (weights_path); none was given")
        state, self.weights_sha256 = load_state_dict_checked(Path(weights_path), None)
        self.net = self.builder(weights=None)
        try:
            self.net.load_state_dict(state)
        except RuntimeError as exc:
            raise BackboneError(f"{weights_path} is not a {self.name} state dict: {exc}") from exc
        self.net.fc = nn.Identity()
        super().__init__()

    def extract(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.net
        h = net.maxpool(net.relu(net.bn1(net.conv1(batch))))
        stride8 = net.layer2(net.layer1(h))
        return stride8, net.layer3(stride8)


class ResNet18(_TorchvisionResNet):
    name = "resnet18"
    channels = (128, 256)
    builder = staticmethod(torchvision.models.resnet18)


class ResNet50(_TorchvisionResNet):
    name = "resnet50"
    channels = (512, 1024)
    builder = staticmethod(torchvision.models.resnet50)


class WideResNet50(_TorchvisionResNet):
    name = "wide_resnet50_2"
    channels = (512, 1024)
    builder = staticmethod(torchvision.models.wide_resnet50_2)
