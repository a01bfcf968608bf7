"""Score a frame exactly while proving only the patch-grid cells that decide its verdict and its drawn regions.

An anomaly map is the patch grid upsampled (bilinear) and smoothed (Gaussian): each pixel is a sum, with weights
of at least 0, of the cells within reach of it. A clustered search's first pass gives every patch the distance of a
real bank row, which the rest of the search can only lower (``cluster_search.OpenSearch``); so the map of an
unproven grid is nowhere lower than the exact map, and a pixel is exact once every cell in its reach is proven.
Two sets of pixels decide what the daemon says: the image score's ``top_k`` highest (once they are exact, no other
pixel can be higher, as its value can only fall), and the pixels at or above the threshold (the defect regions
and the outline's kept areas). ``settled_scores_and_maps`` proves the cells in reach of those, draws the map again,
and repeats until the pixels it needs are all exact. Image scores, and every pixel at or above the threshold, are
those of the whole search; pixels below it may read higher than the whole search's, never above the threshold.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from inspectd.detector.cluster_search import OpenSearch
from inspectd.detector.map_operator import MapOperator, map_operator
from inspectd.detector.scoring import score_window, scored_maps
from inspectd.detector.search import SettledSearch
from inspectd.detector.settings import WHOLE_FRAME

# Pixels beyond the map's own reach that a moved map (registration, the pose's turn back onto the frame) reads from
# an unmoved pixel's neighbours: bilinear, one pixel, and one more for rounding.
MOVE_MARGIN = 2


def settled_scores_and_maps(search: OpenSearch | SettledSearch, grids_of: Callable[[np.ndarray], np.ndarray],
                            shape: tuple[int, int], sigma: float, centre: float, top_k: int, threshold: float,
                            roi: tuple[float, float, float, float] = WHOLE_FRAME) -> tuple[np.ndarray, np.ndarray]:
    """(image scores [B], registered maps [B, H, W]) as ``scoring.scores_and_maps`` of the exact patch grids gives
    them, proving only the cells that decide them. ``grids_of``: the search's distances [B, h, w] -> the patch-score
    grids (any function that never lowers a grid value where a distance rises: a maximum with other scores, a mask)."""
    while True:
        grids = grids_of(search.distances())
        operator = map_operator(grids.shape[1:], tuple(shape), float(sigma))
        whole = operator.maps(grids)
        stride = whole.shape[2] / grids.shape[2]
        window = score_window(whole.shape[1:], stride, centre, roi)
        needed = deciding_cells(operator, whole, top_k, threshold, window) & ~search.settled()
        if not needed.any():
            return scored_maps(whole, stride, centre, top_k, roi)
        search.settle(needed)


def deciding_cells(operator: MapOperator, maps: np.ndarray, top_k: int, threshold: float,
                   window: tuple[slice, slice]) -> np.ndarray:
    """[B, h, w] bool: the cells that each unmoved map's ``top_k`` highest pixels inside ``window`` read, and those
    that its pixels at or above ``threshold`` read (widened by ``MOVE_MARGIN`` pixels)."""
    rows, columns = window
    margin = np.ones((2 * MOVE_MARGIN + 1, 2 * MOVE_MARGIN + 1), np.uint8)
    cells = np.empty((len(maps), operator.rows.shape[1], operator.columns.shape[1]), bool)
    for i, one in enumerate(maps):
        above = one >= threshold
        cells[i] = operator.cells_read(cv2.dilate(above.view(np.uint8), margin)) if above.any() else False
        inside = one[rows, columns]
        top = np.argpartition(-inside.ravel(), top_k - 1)[:top_k] if top_k > 1 else [int(inside.argmax())]
        for y, x in zip(*np.unravel_index(top, inside.shape)):
            cells[i] |= np.outer(operator.rows_read[y + rows.start] > 0, operator.columns_read[x + columns.start] > 0)
    return cells
