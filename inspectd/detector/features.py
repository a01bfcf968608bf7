"""PatchCore patch features (METHOD.md section 1).

Each stage's 3x3 neighbourhood is aggregated and pooled to the stage's channel count (adaptive
average pooling of the C*3*3 patch vector to C values is exactly a 3x3 average pool), each pooled
vector's length is compressed (``compress_magnitude``; PatchCore itself leaves it); the stride-16
grid is bilinearly resampled to the stride-8 grid and the two stages are concatenated: one vector of
C8 + C16 values per patch location (152 for Lite0).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.nn import functional

from inspectd.detector.backbone import FeatureBackbone


SHAPE_MULTIPLE = 16  # input sides are multiples of the coarsest stage's stride: the grids align exactly


def input_shape(height: int, width: int, size: int, keep_aspect: bool = True) -> tuple[int, int]:
    """The (height, width) a frame of ``height x width`` is resized to for the backbone.

    ``keep_aspect``: about ``size * size`` pixels in the frame's own aspect ratio (sides rounded to
    multiples of 16), so a long thin part is not squashed and costs what a square one does; otherwise
    ``size x size``.
    """
    if not keep_aspect or height == width:
        return size, size
    scale = size / float(np.sqrt(height * width))
    return tuple(max(SHAPE_MULTIPLE, int(round(side * scale / SHAPE_MULTIPLE)) * SHAPE_MULTIPLE)
                 for side in (height, width))


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """RGB uint8 image of any size (or grayscale) -> shape[0] x shape[1] x 3."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    height, width = shape
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] > height or image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_batch(images: list[np.ndarray], backbone: FeatureBackbone) -> torch.Tensor:
    """Same-size uint8 RGB images -> normalised NCHW float32 tensor."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(backbone.mean).view(1, 3, 1, 1)
    std = torch.tensor(backbone.std).view(1, 3, 1, 1)
    return batch.sub_(mean).div_(std)


def compress_magnitude(stage: torch.Tensor, power: float) -> torch.Tensor:
    """Each patch vector of a stage [B, C, h, w] divided by its length to ``power`` (0: unchanged, 1: unit length).

    Two nearby vectors of length L end up about L**power times closer: the nearest-neighbour distance
    becomes relative to how strongly a patch responds, so a strong, variable response (a glare streak,
    a sharp edge) no longer outweighs a faint one that is new (a hairline crack). Power 0.5 is halfway
    between PatchCore's absolute distance and a cosine one (docs/results.md, "Patch vector length")."""
    if power == 0:
        return stage
    # the lengths from a channels-first copy: its sum over channels rounds the same whatever ``stage``'s layout
    lengths = torch.linalg.vector_norm(stage.contiguous(), dim=1, keepdim=True)
    return stage / lengths.clamp_min(1e-6).pow(power)


def patch_features(backbone: FeatureBackbone, batch: torch.Tensor, precision: str = "float32",
                   norm_power: float = 0.0) -> np.ndarray:
    """Normalised batch -> float32 array [B, h, w, D] on the stride-8 grid; the backbone runs at ``precision``,
    each stage's pooled patch vectors go through ``compress_magnitude(norm_power)``."""
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            stride8, stride16 = backbone(batch)
        # channels-last: pooling and resampling run about 5x faster on it, and the concatenated stages are
        # already [B, h, w, D] in memory (the same values as channels-first, bit for bit)
        stride8, stride16 = (stage.float().contiguous(memory_format=torch.channels_last)
                             for stage in (stride8, stride16))
        stride8 = compress_magnitude(functional.avg_pool2d(stride8, 3, stride=1, padding=1), norm_power)
        stride16 = compress_magnitude(functional.avg_pool2d(stride16, 3, stride=1, padding=1), norm_power)
        stride16 = functional.interpolate(stride16, size=stride8.shape[-2:], mode="bilinear", align_corners=False)
        features = torch.cat([stride8, stride16], dim=1).permute(0, 2, 3, 1)
        return np.ascontiguousarray(features.float().numpy())
