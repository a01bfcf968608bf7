"""Where the patch grid's cells sit on the input image, so that the anomaly map lands on the defect.

Upsampling a stride-8 grid as an image does puts cell ``j`` at input pixel ``8 j + 3.5``, the middle of
the 8 pixels the cell stands for. A trained CNN's cells are not centred there: padding and learnt kernels
move them. With a bright dot moved across a flat frame, EfficientNet-Lite0's stride-8 stage responds
around pixel ``8 j - 3.75``, its stride-16 stage (resized onto the stride-8 grid as PatchCore does)
around ``8 j - 10``, and the patch vector that joins them around ``8 j - 7.75``: upsampled as an image, the
map sat 11 px right of and below the defect, more than the smoothing's sigma (5.7 px at 320 px) (docs/results.md,
"Map registration").

The centre is measured, not assumed, so every backbone plugin and feature setting gets its own: a 3x3
dot is moved over 32 positions (every sub-cell phase of both strides) of a grey frame, and the centre is
the mean over dots and both axes of the response-weighted centroid of the cells around the strongest
change of the patch vector. Rounded to a quarter pixel, so float noise cannot move a map.
"""

from __future__ import annotations

import threading

import numpy as np

from inspectd.detector.backbone import FeatureBackbone, get_backbone
from inspectd.detector.features import patch_features, to_batch
from inspectd.detector.settings import DetectorSettings

STRIDE = 8  # of the patch grid (features.patch_features)
PROBE_SIZE = 160  # px; the dots stay over 60 px from the frame's edges
PROBE_POSITIONS = range(64, 96)
CENTROID_CELLS = 2  # cells on each side of the strongest response in the centroid


def measure_grid_centre(backbone: FeatureBackbone, norm_power: float) -> float:
    """The input pixel (x and y) that patch-grid cell 0 describes: cell ``j`` describes ``STRIDE j + centre``."""
    features = patch_features(backbone, to_batch(dot_frames(), backbone), "float32", norm_power)
    return response_centre(np.linalg.norm(features[1:] - features[:1], axis=-1), STRIDE)


def dot_frames() -> list[np.ndarray]:
    """A grey frame, then one with a white 3x3 dot centred on each of ``PROBE_POSITIONS`` (x = y)."""
    grey = np.full((PROBE_SIZE, PROBE_SIZE, 3), 128, np.uint8)
    frames = [grey]
    for position in PROBE_POSITIONS:
        dotted = grey.copy()
        dotted[position - 1:position + 2, position - 1:position + 2] = 255
        frames.append(dotted)
    return frames


def response_centre(response: np.ndarray, stride: int) -> float:
    """``response`` [dots, h, w]: how much each cell of a stride-``stride`` grid changed for each dot of
    ``dot_frames`` -> the input pixel cell 0 is centred on, to a quarter pixel."""
    estimates = []
    for dot, position in zip(response, PROBE_POSITIONS):
        for profile in (dot.sum(0), dot.sum(1)):  # along x, along y
            peak = int(profile.argmax())
            cells = np.arange(max(peak - CENTROID_CELLS, 0), min(peak + CENTROID_CELLS + 1, len(profile)))
            estimates.append(position - stride * float((profile[cells] * cells).sum() / profile[cells].sum()))
    return round(float(np.mean(estimates)) * 4) / 4


_centres: dict[tuple[str, str | None, float], float] = {}
_centres_lock = threading.Lock()


def grid_centre(settings: DetectorSettings) -> float:
    """``measure_grid_centre`` for the settings' backbone and patch vectors, measured once per process."""
    key = (settings.backbone, settings.weights_path, settings.feature_norm_power)
    with _centres_lock:
        if key not in _centres:
            backbone = get_backbone(settings.backbone, settings.weights_path)
            _centres[key] = measure_grid_centre(backbone, settings.feature_norm_power)
        return _centres[key]
