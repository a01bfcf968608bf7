"""Ranking and decision metrics, in numpy; decisions are the detector's verdict (``scoring.rejected``)."""

from __future__ import annotations

import cv2
import numpy as np

from inspectd.detector.scoring import rejected


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie-averaged ranks); labels 1 = defective."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUROC needs both positive and negative samples")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    average_rank = (starts + ends + 1) / 2.0  # 1-based mean rank of each tie block
    ranks[order] = np.repeat(average_rank, ends - starts)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def false_reject_rate(scores: np.ndarray, labels: np.ndarray, threshold: float,
                      also_failed: np.ndarray | None = None) -> float:
    """Share of good images (label 0) the verdict fails."""
    return float(rejected(scores, threshold, also_failed)[~np.asarray(labels).astype(bool)].mean())


def escape_rate(scores: np.ndarray, labels: np.ndarray, threshold: float,
                also_failed: np.ndarray | None = None) -> float:
    """Share of defective images (label 1) the verdict passes."""
    return float((~rejected(scores, threshold, also_failed))[np.asarray(labels).astype(bool)].mean())


def escape_at_false_reject(scores: np.ndarray, labels: np.ndarray, false_reject: float) -> float:
    """Escape rate at the threshold that rejects at most ``false_reject`` of the good images: the best a
    calibration could do with these scores if it knew the test goods (a bound, not a threshold rule)."""
    scores, labels = np.asarray(scores), np.asarray(labels).astype(bool)
    goods = np.sort(scores[~labels])
    allowed = int(np.floor(false_reject * len(goods) + 1e-9))  # goods that may lie above the threshold
    return escape_rate(scores, labels, float(goods[len(goods) - 1 - allowed]))


def pixel_auroc(maps: np.ndarray, masks: list[np.ndarray] | None) -> float | None:
    """Pixel AUROC over all test images, at the detector's input shape (masks resized, nearest)."""
    if masks is None:
        return None
    height, width = maps.shape[1:]
    resized = np.stack([cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST) for mask in masks])
    return auroc(maps.ravel(), resized.ravel())
