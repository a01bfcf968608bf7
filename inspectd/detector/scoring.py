"""Nearest-neighbour patch scores, anomaly maps, image scores and defect regions (METHOD.md section 4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import faiss
import numpy as np

from inspectd.detector.map_operator import map_operator
from inspectd.detector.settings import WHOLE_FRAME


@dataclass(frozen=True)
class Region:
    """A connected area of the thresholded anomaly map, in input-image pixels."""

    x: int
    y: int
    width: int
    height: int
    peak_score: float


class PatchIndex:
    """Exact L2 nearest-neighbour search over the memory bank."""

    def __init__(self, memory: np.ndarray) -> None:
        self.index = faiss.IndexFlatL2(memory.shape[1])
        self.index.add(np.ascontiguousarray(memory, dtype=np.float32))

    def patch_scores(self, patch_features: np.ndarray, excluded: np.ndarray | None = None) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w] distance of each patch to its nearest bank vector, leaving out the rows
        ``excluded`` [M] bool marks (a hold-out group's)."""
        batch, height, width, dim = patch_features.shape
        queries = np.ascontiguousarray(patch_features.reshape(-1, dim), dtype=np.float32)
        params = self.search_parameters()
        if excluded is not None and excluded.any():
            params.sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.flatnonzero(excluded).astype(np.int64)))
        squared, _ = self.index.search(queries, 1, params=params)
        return np.sqrt(np.maximum(squared[:, 0], 0.0)).reshape(batch, height, width)

    def search_parameters(self) -> faiss.SearchParameters:
        """A fresh set of faiss search parameters for one search (the rows left out are added to it)."""
        return faiss.SearchParameters()


def anomaly_maps(patch_scores: np.ndarray, shape: int | tuple[int, int], sigma: float) -> np.ndarray:
    """[B, h, w] -> [B, H, W] at the input shape (an int: square): bilinear upsampling then Gaussian smoothing
    (``map_operator``). Cells are placed as an image's pixels are (cell ``j`` on pixel ``stride j + (stride - 1) / 2``),
    so every cell lies inside the canvas; ``registered`` moves the result to where the cells really look."""
    height, width = (shape, shape) if isinstance(shape, int) else shape
    return map_operator(patch_scores.shape[1:], (height, width), float(sigma)).maps(patch_scores)


def registered(maps: np.ndarray, centre: float, stride: float) -> np.ndarray:
    """Maps [B, H, W] from ``anomaly_maps`` of a stride-``stride`` grid, moved so that cell ``j`` lies on pixel
    ``stride j + centre`` instead of ``stride j + (stride - 1) / 2`` along x and y (bilinear; the edge values
    repeated into what the move uncovers). ``centre``: the grid's measured one (detector/registration.py)."""
    offset = registration_offset(centre, stride)
    if offset == 0:
        return maps
    height, width = maps.shape[1:]
    move = np.float32([[1, 0, offset], [0, 1, offset]])
    moved = np.empty_like(maps)
    for i, one in enumerate(maps):
        moved[i] = cv2.warpAffine(one, move, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return moved


def registration_offset(centre: float, stride: float) -> float:
    """Pixels by which ``registered`` moves a map along x and y."""
    return centre - (stride - 1) / 2


def scores_and_maps(patch_scores: np.ndarray, shape: int | tuple[int, int], sigma: float, centre: float,
                    top_k: int, roi: tuple[float, float, float, float] = WHOLE_FRAME) -> tuple[np.ndarray, np.ndarray]:
    """Patch-score grids [B, h, w] -> (image scores [B], anomaly maps [B, H, W] registered on ``centre``, the
    input pixel the grid's cell 0 describes): ``scored_maps`` of their ``anomaly_maps``."""
    whole = anomaly_maps(patch_scores, shape, sigma)
    return scored_maps(whole, whole.shape[2] / patch_scores.shape[2], centre, top_k, roi)


def scored_maps(whole: np.ndarray, stride: float, centre: float, top_k: int,
                roi: tuple[float, float, float, float] = WHOLE_FRAME) -> tuple[np.ndarray, np.ndarray]:
    """Maps [B, H, W] from ``anomaly_maps`` of a stride-``stride`` grid -> (image scores [B], the maps registered).

    The image score is taken before the map is moved, while every cell lies inside the canvas: moved,
    the outermost cells can leave the frame (Lite0's first row and column, centred 7.75 px before it), and
    each cell is a patch of the frame that should count wherever its centre lies. It is the score before
    registration; only where the map shows a defect moved (docs/results.md, "Map registration").
    With a region of interest (``roi``, shares of the frame) the score counts the unmoved map's pixels that the
    move puts inside it (``score_window``), and the moved map is 0 outside it."""
    maps = registered(whole, centre, stride)
    rows, columns = score_window(whole.shape[1:], stride, centre, roi)
    scores = image_scores(np.ascontiguousarray(whole[:, rows, columns]), top_k)
    if roi == WHOLE_FRAME:
        return scores, maps
    rows, columns = roi_window(maps.shape[1:], roi, 0.0)
    inside = np.zeros(maps.shape[1:], bool)
    inside[rows, columns] = True
    maps[:, ~inside] = 0.0
    return scores, maps


def score_window(shape: tuple[int, int], stride: float, centre: float,
                 roi: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """Rows and columns of an unmoved map of ``shape`` that its image score reads: all of them, or with a region of
    interest those that ``registered`` moves inside it."""
    if roi == WHOLE_FRAME:
        return slice(0, shape[0]), slice(0, shape[1])
    return roi_window(shape, roi, registration_offset(centre, stride))


def roi_window(shape: tuple[int, int], roi: tuple[float, float, float, float], offset: float) -> tuple[slice, slice]:
    """Rows and columns of a map of ``shape`` (height, width) whose pixels, moved by ``offset`` along x and y, lie
    inside ``roi`` (left, top, right, bottom, shares of the frame); at least one of each."""
    def span(size: int, low: float, high: float) -> slice:
        positions = np.arange(size) + offset
        inside = np.nonzero((positions >= low * size) & (positions < high * size))[0]
        if len(inside) == 0:  # a sliver narrower than the move: the nearest pixel
            nearest = int(np.clip(round(low * size - offset), 0, size - 1))
            return slice(nearest, nearest + 1)
        return slice(int(inside[0]), int(inside[-1]) + 1)
    left, top, right, bottom = roi
    return span(shape[0], top, bottom), span(shape[1], left, right)


def image_scores(maps: np.ndarray, top_k: int) -> np.ndarray:
    """Mean of the ``top_k`` highest map values per image (top_k = 1: the maximum)."""
    flat = maps.reshape(len(maps), -1)
    if top_k == 1:
        return flat.max(axis=1)
    return -np.partition(-flat, top_k - 1, axis=1)[:, :top_k].mean(axis=1)


def defect_regions(anomaly_map: np.ndarray, threshold: float,
                   frame_shape: tuple[int, int] | None = None) -> list[Region]:
    """Bounding boxes of the connected components where the map exceeds the threshold, in the pixels of
    a frame of ``frame_shape`` (height, width; default: the map's own). Finding them on the small map and
    scaling the boxes costs a fraction of upsampling the map to a megapixel frame first."""
    above = anomaly_map > threshold
    if not above.any():  # a passing frame's map, most frames: labelling an empty image costs 0.7 ms at 320 px
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above.view(np.uint8), connectivity=8)
    scale = (1.0, 1.0) if frame_shape is None else (
        frame_shape[1] / anomaly_map.shape[1], frame_shape[0] / anomaly_map.shape[0])
    regions = []
    for label in range(1, count):
        x, y, width, height, _ = stats[label]
        peak = float(anomaly_map[labels == label].max())
        regions.append(Region(*scaled_box(x, y, width, height, scale), peak))
    return sorted(regions, key=lambda region: -region.peak_score)


def scaled_box(x: int, y: int, width: int, height: int, scale: tuple[float, float],
               limit: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """A pixel box scaled by ``scale`` (x, y), widened outwards to whole pixels and at least 1 x 1; its
    right and bottom edges clipped to ``limit`` (width, height) when given."""
    left, top = int(x * scale[0]), int(y * scale[1])
    right, bottom = math.ceil((x + width) * scale[0]), math.ceil((y + height) * scale[1])
    if limit is not None:
        right, bottom = min(limit[0], right), min(limit[1], bottom)
    return left, top, max(1, right - left), max(1, bottom - top)


def rejected(scores: np.ndarray, threshold: float, also_failed: np.ndarray | None = None) -> np.ndarray:
    """The verdict per image: scored above the threshold, or failed by another check (``also_failed``,
    the presence check) whatever its score."""
    failed = np.asarray(scores) > threshold
    return failed if also_failed is None else failed | np.asarray(also_failed, dtype=bool)


def calibrated_score(score: float, threshold: float) -> float:
    """score / (score + threshold): 0.5 at the threshold, monotone, in [0, 1)."""
    return float(score / (score + threshold)) if score + threshold > 0 else 0.0
