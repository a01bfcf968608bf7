"""The anomaly map as two matrix products: ``rows @ grid @ columns.T``.

Bilinear upsampling (OpenCV's ``INTER_LINEAR`` weights) and Gaussian smoothing (OpenCV's kernel size for float
images, 4 sigma each side, mirrored at the edges as ``BORDER_REFLECT_101``) are both separable and linear, so the
map of an [h, w] grid at [H, W] is ``rows [H, h] @ grid @ columns [W, w].T``, where each factor is the smoothing
matrix times the upsampling matrix of one axis. Two small products cost a tenth of resizing and blurring the
image (0.09 against 0.68 ms for a 40 x 40 grid at 320 px), and their zero pattern says exactly which cells a
pixel reads (``decisive_cells``). Every weight is at least 0: a grid value that rises can only raise the map.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


class MapOperator:
    """Maps of [h, w] grids at [H, W] (``grid``, ``shape``) smoothed with ``sigma`` pixels (0: none)."""

    def __init__(self, grid: tuple[int, int], shape: tuple[int, int], sigma: float) -> None:
        self.rows = _smoothing(shape[0], sigma) @ _upsampling(grid[0], shape[0])  # [H, h]
        self.columns = _smoothing(shape[1], sigma) @ _upsampling(grid[1], shape[1])  # [W, w]
        self.rows_read = (self.rows > 0).astype(np.float32)  # which cells each map row and column reads
        self.columns_read = (self.columns > 0).astype(np.float32)

    def maps(self, grids: np.ndarray) -> np.ndarray:
        """[B, h, w] -> [B, H, W] float32."""
        return np.matmul(np.matmul(self.rows, grids.astype(np.float32, copy=False)), self.columns.T)

    def cells_read(self, pixels: np.ndarray) -> np.ndarray:
        """[H, W] bool pixels -> [h, w] bool: the grid cells that any of them reads."""
        return (self.rows_read.T @ pixels.astype(np.float32) @ self.columns_read) > 0


@lru_cache(maxsize=16)
def map_operator(grid: tuple[int, int], shape: tuple[int, int], sigma: float) -> MapOperator:
    """The operator for one grid, shape and sigma, built once per process (a product's frames all share it)."""
    return MapOperator(grid, shape, sigma)


def _upsampling(cells: int, pixels: int) -> np.ndarray:
    """[pixels, cells]: OpenCV's bilinear resize of each unit vector, one column each."""
    return cv2.resize(np.eye(cells, dtype=np.float32), (cells, pixels), interpolation=cv2.INTER_LINEAR)


def _smoothing(pixels: int, sigma: float) -> np.ndarray:
    """[pixels, pixels]: Gaussian smoothing along one axis, edges mirrored without repeating the edge pixel."""
    if sigma <= 0:
        return np.eye(pixels, dtype=np.float32)
    size = int(round(sigma * 8 + 1)) | 1
    kernel = cv2.getGaussianKernel(size, sigma, cv2.CV_32F)[:, 0]
    half = size // 2
    matrix = np.zeros((pixels, pixels), np.float64)
    for offset, weight in zip(range(-half, half + 1), kernel):
        source = np.abs(np.arange(pixels) + offset)  # reflect at 0 ...
        if pixels > 1:
            period = 2 * (pixels - 1)
            source = source % period
            source = np.where(source > pixels - 1, period - source, source)  # ... and at the far edge
        else:
            source = np.zeros_like(source)
        np.add.at(matrix, (np.arange(pixels), source), weight)
    return matrix.astype(np.float32)
