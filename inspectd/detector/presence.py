"""Part presence: does the frame show what the goldens show at all? (docs/results.md, "A missing part")

The anomaly score asks whether any patch of a frame is unlike the goldens' patches. A frame without its
part shows only background, which the goldens show too, and can pass. The reverse search catches it:
for golden patches (a fixed, evenly strided sample of the bank rows the golden images put there), the
distance to the frame's nearest patch; the median over those rows, the *coverage distance*, rises when
much of what the goldens show is absent (empty frames of screw, metal_plate and fryum: 1.4-2x the goods';
docs/results.md, "A missing part").

The threshold is the largest hold-out coverage distance (each golden against the other goldens' rows,
as the anomaly threshold is calibrated) times ``MARGIN``. The largest of K hold-out values alone would
be exceeded by about 1 / (K + 1) of good parts; the margin keeps this a check for gross absence and not a
second source of false rejects.
"""

from __future__ import annotations

import numpy as np
import torch

ROWS = 128  # golden rows sampled: the median over them moves by well under the margin between draws
PATCH_STRIDE = 2  # every other patch of the frame along each axis: its 3x3-averaged features vary slowly
MARGIN = 1.25
# Where the goldens show no part on a background of its own colour (it fills the frame: a bottle seen from above),
# an empty fixture leaves nothing the goldens show, while a broken or contaminated part still shows most of it:
# there the coverage distance must also exceed this many times the threshold. MVTec bottle, 1 golden: empty frames
# 2.5-2.6 x the threshold, broken_large parts up to 1.28 x, goods at most 0.81 x (docs/results.md, "A missing part")
WHOLE_FRAME_FACTOR = 1.6


def golden_rows(memory: np.ndarray, row_groups: np.ndarray, golden_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """An evenly strided sample of at most ``ROWS`` rows put in the bank by the golden images (not by
    feedback frames, whose groups come after the goldens'), and their groups."""
    golden = np.flatnonzero(row_groups < golden_groups)
    picked = golden[np.linspace(0, len(golden), min(ROWS, len(golden)), endpoint=False).astype(int)]
    return np.ascontiguousarray(memory[picked], dtype=np.float32), row_groups[picked]


def coverage_distances(rows: np.ndarray, features: np.ndarray) -> np.ndarray:
    """[R, D] rows and frames' features [B, h, w, D] -> [B]: per frame, the median over the rows of each
    row's distance to its nearest patch of the frame (patches taken every ``PATCH_STRIDE``)."""
    sampled = features[:, ::PATCH_STRIDE, ::PATCH_STRIDE]
    with torch.inference_mode():
        bank = torch.from_numpy(rows)
        patches = torch.from_numpy(np.ascontiguousarray(sampled, dtype=np.float32)).flatten(1, 2)
        # min over patches p of |r - p|^2 = |r|^2 + min of (|p|^2 - 2 r.p): one product and one pass per frame
        nearest = torch.stack([torch.addmm((frame * frame).sum(1), bank, frame.T, alpha=-2.0).amin(dim=1)
                               for frame in patches])
        nearest = (nearest + (bank * bank).sum(1)).clamp_min_(0.0).sqrt_()
        return nearest.median(dim=1).values.numpy().astype(np.float64)


def presence_calibration(memory: np.ndarray, row_groups: np.ndarray, holdout_features: np.ndarray) -> dict:
    """The manifest's ``presence`` block: hold-out coverage distances and the threshold from them."""
    rows, groups = golden_rows(memory, row_groups, len(holdout_features))
    holdout = [float(coverage_distances(rows[groups != g], holdout_features[g:g + 1])[0])
               for g in range(len(holdout_features))]
    return {"rows": len(rows), "holdout": [round(d, 6) for d in holdout], "margin": MARGIN,
            "threshold": round(MARGIN * max(holdout), 6)}


class PresenceCheck:
    """Flags frames whose coverage distance exceeds the bank's presence threshold (times ``WHOLE_FRAME_FACTOR`` where
    the part fills the frame: ``whole_frame``)."""

    def __init__(self, memory: np.ndarray, row_groups: np.ndarray, golden_groups: int, threshold: float,
                 whole_frame: bool = False) -> None:
        self.rows, _ = golden_rows(memory, row_groups, golden_groups)
        self.threshold = threshold * (WHOLE_FRAME_FACTOR if whole_frame else 1.0)

    def part_missing(self, features: np.ndarray) -> np.ndarray:
        return coverage_distances(self.rows, features) > self.threshold
