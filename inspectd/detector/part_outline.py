"""The part's outline on a frame, from the colour of the background around it, so that the anomaly map
shows the part and not the mat or tray it lies on.

The background's colour is learnt from the golden images' border (the outer ``BORDER_SHARE`` of each side):
a Gaussian in CIE Lab. A pixel is the part's where its Mahalanobis distance exceeds what
``BACKGROUND_QUANTILE`` % of the border pixels reach; specks are opened away, the rest grown by ``GROW_PX``
and closed into their convex hull, so that a chip or a broken-off piece, which shows the background through
the part's silhouette, stays inside the outline.

The outline only ever hides map values, never a verdict: the image score is taken from the whole map. Off the
outline a frame keeps one thing, where its peak lies there above the threshold: the connected region above the
threshold that holds it (what failed the frame, and its defect box); the mat's sub-threshold texture around it
stays hidden. A frame keeps its whole map where the outline covers less than half of what it covers on the
goldens (the part's colour not found: a part too like its background, a new fixture).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BORDER_SHARE = 0.05
BACKGROUND_QUANTILE = 99.0
GROW_PX = 16  # two patch-grid strides: a defect on the silhouette's edge keeps its smoothed peak
OPENING_PX = 5
# an outline is fitted only when, on every golden, the largest piece of the part so found covers at least
# MIN_PART_SHARE of the frame (below, the part is not told from its border by colour: a texture's specks) and
# the outline at most MAX_OUTLINE_SHARE (above, there is too little background to gain from hiding)
MIN_PART_SHARE = 0.01
MAX_OUTLINE_SHARE = 0.8
LAB_RIDGE = 4.0  # added to the border colours' covariance (Lab units squared): a flat border stays invertible


@dataclass(frozen=True)
class PartOutline:
    mean: tuple[float, float, float]  # the border's mean Lab colour
    inverse_covariance: tuple[tuple[float, ...], ...]  # 3 x 3
    limit: float  # squared Mahalanobis distance above which a pixel is the part's
    golden_share: float  # mean share of a golden frame inside its outline

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "inverse_covariance": [list(row) for row in self.inverse_covariance],
                "limit": self.limit, "golden_share": self.golden_share}

    @classmethod
    def from_dict(cls, data: dict) -> "PartOutline":
        return cls(tuple(data["mean"]), tuple(tuple(row) for row in data["inverse_covariance"]),
                   float(data["limit"]), float(data["golden_share"]))

    def outlines(self, images: np.ndarray) -> np.ndarray:
        """RGB uint8 frames [B, H, W, 3] -> [B, H, W] bool, inside the part's outline."""
        whitening = _whitening(self.mean, self.inverse_covariance)
        return np.stack([_hull(_part_pixels(image, whitening, self.limit)) for image in images])

    def weights(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 frame [H, W, 3] -> [H, W] float32: each pixel's squared colour distance to the background
        where it exceeds the limit (the part's), 0 elsewhere."""
        distances = _squared_distances(_lab(image), _whitening(self.mean, self.inverse_covariance))
        distances[distances <= self.limit] = 0.0
        return distances

    def applied(self, images: np.ndarray) -> list[np.ndarray | None]:
        """Frames [B, H, W, 3] at the maps' shape -> per frame, its outline where it covers at least half the
        goldens' share, else None (the map stays whole)."""
        return [inside if inside.mean() >= self.golden_share / 2 else None for inside in self.outlines(images)]

    def restrict(self, maps: np.ndarray, images: np.ndarray, threshold: float) -> np.ndarray:
        """The maps, hidden outside each frame's ``applied`` outline as ``hidden_outside`` does."""
        return hidden_outside(maps, self.applied(images), threshold)


def hidden_outside(maps: np.ndarray, outlines: list[np.ndarray | None], threshold: float) -> np.ndarray:
    """Maps [B, H, W] -> a copy, 0 outside each map's outline (None: left whole) but on the region above
    ``threshold`` that holds the map's peak, where that peak lies off the outline."""
    restricted = maps.copy()
    for out, inside in zip(restricted, outlines):
        if inside is not None:
            out[~_shown(out, inside, threshold)] = 0.0
    return restricted


def _shown(map_: np.ndarray, inside: np.ndarray, threshold: float) -> np.ndarray:
    """Where a map stays shown: inside its outline, and the 8-connected region above ``threshold`` that holds its
    peak where the peak lies off the outline (defect_regions' components)."""
    peak = np.unravel_index(int(map_.argmax()), map_.shape)
    if inside[peak] or map_[peak] <= threshold:
        return inside
    _, labels = cv2.connectedComponents((map_ > threshold).astype(np.uint8), connectivity=8)
    return inside | (labels == labels[peak])


def fit_outline(goldens: np.ndarray) -> PartOutline | None:
    """Golden frames [K, H, W, 3] RGB uint8 at the bank's input shape -> their background's model, or None
    where the part is not found on them by colour or fills nearly all of them (``MIN_PART_SHARE``,
    ``MAX_OUTLINE_SHARE``)."""
    border = _border(goldens.shape[1:3])
    colours = np.concatenate([_lab(image)[border] for image in goldens]).astype(np.float64)
    mean = colours.mean(0)
    inverse = np.linalg.inv(np.cov(colours - mean, rowvar=False) + LAB_RIDGE * np.eye(3))
    whitening = _whitening(mean, inverse)
    limit = float(np.percentile(_squared_distances(colours, whitening), BACKGROUND_QUANTILE))
    mean, inverse = tuple(float(v) for v in mean), tuple(tuple(float(v) for v in row) for row in inverse)
    parts = [_part_pixels(image, whitening, limit) for image in goldens]
    share = float(np.mean([_hull(part).mean() for part in parts]))
    if min(_largest_piece(part) for part in parts) < MIN_PART_SHARE * parts[0].size or share > MAX_OUTLINE_SHARE:
        return None
    return PartOutline(mean, inverse, limit, share)


def _part_pixels(image: np.ndarray, whitening: np.ndarray, limit: float) -> np.ndarray:
    """Pixels of ``image`` whose colour the border does not explain (squared distance above ``limit``), specks
    opened away (uint8 0/1)."""
    part = (_squared_distances(_lab(image), whitening) > limit).astype(np.uint8)
    return cv2.morphologyEx(part, cv2.MORPH_OPEN, np.ones((OPENING_PX, OPENING_PX), np.uint8))


_CHANNEL_SUM = np.ones((1, 3), np.float32)


def _whitening(mean: Sequence[float], inverse: Sequence[Sequence[float]]) -> np.ndarray:
    """The border colour's mean and inverse covariance -> the 3 x 4 affine map x -> F (x - mean), F the inverse
    covariance's Cholesky factor, so that a colour's squared Mahalanobis distance is its image's squared length."""
    factor = np.linalg.cholesky(np.asarray(inverse, np.float64)).T
    return np.hstack([factor, -(factor @ np.asarray(mean, np.float64))[:, None]]).astype(np.float32)


def _squared_distances(colours: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """Lab colours [..., 3] -> [...] squared Mahalanobis distances to the border's colour, as two OpenCV channel
    transforms (4x numpy's matrix products)."""
    whitened = cv2.transform(np.asarray(colours, np.float32).reshape(-1, 1, 3), whitening)
    return cv2.transform(whitened * whitened, _CHANNEL_SUM).reshape(colours.shape[:-1])


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)


def _largest_piece(part: np.ndarray) -> int:
    """Pixels of the largest 8-connected piece of ``part`` (uint8 0/1)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(part, connectivity=8)
    return int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0


def _border(shape: tuple[int, int]) -> np.ndarray:
    width = max(1, round(BORDER_SHARE * min(shape)))
    border = np.zeros(shape, bool)
    border[:width], border[-width:], border[:, :width], border[:, -width:] = True, True, True, True
    return border


_ANGLES = np.linspace(0, 2 * np.pi, 32, endpoint=False)
_GROW_OFFSETS = np.round(GROW_PX * np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], 1)).astype(np.int32)  # a 32-gon


def _hull(part: np.ndarray) -> np.ndarray:
    """Part pixels (uint8 0/1) -> their convex hull grown by ``GROW_PX`` (the hull of its corners moved round a
    32-gon: the same as growing the pixels first, at a fraction of a large dilation's cost)."""
    hull = np.zeros(part.shape, np.uint8)
    # the pieces' outer boundaries hold every corner of the pixels' hull, at a fraction of the points
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if contours:
        corners = cv2.convexHull(np.concatenate(contours)).reshape(-1, 1, 2)
        cv2.fillConvexPoly(hull, cv2.convexHull((corners + _GROW_OFFSETS[None]).reshape(-1, 2)), 1)
    return hull.astype(bool)
