"""The bench's search section: each search the ``search`` setting offers, timed on the same features of the
same frames, beside exact search, and how closely it keeps exact search's patch and image scores."""

from __future__ import annotations

import time

import numpy as np

from inspectd.bench.frames import good_and_defective
from inspectd.bench.report import Row
from inspectd.detector.cluster_search import ClusteredIndex
from inspectd.detector.decisive_cells import settled_scores_and_maps
from inspectd.detector.detector import Detector
from inspectd.detector.scoring import scores_and_maps
from inspectd.detector.search import patch_index
from inspectd.detector.settings import SEARCHES

REFERENCE_SEARCH = "exact"


def search_section(detector: Detector, images: list[np.ndarray], good: list[bool]) -> tuple[str, list[Row]]:
    """Median ms per frame of every search over ``detector``'s bank (batch 1, searches interleaved per frame),
    baseline exact; with the share of patch scores equal to exact ones (1e-4 relative) and the largest relative
    difference of a frame's highest patch score. Then the clustered search as the detector runs it, proving only
    the cells that decide the frame, against its whole proof, each with the map (good and defective frames,
    ``good``, apart)."""
    features = [detector.embedded_features(detector.input_frames([image]), {}) for image in images]
    indexes = {name: patch_index(detector.bank.memory, name) for name in SEARCHES}
    times: dict[str, list[float]] = {name: [] for name in indexes}
    scores: dict[str, list[np.ndarray]] = {name: [] for name in indexes}
    for one in features:
        for name, index in indexes.items():
            started = time.perf_counter()
            scores[name].append(index.patch_scores(one))
            times[name].append((time.perf_counter() - started) * 1000.0)
    exact = np.concatenate(scores[REFERENCE_SEARCH])
    exact_highest = exact.max(axis=(1, 2))
    rows = []
    for name in (name for name in SEARCHES if name != REFERENCE_SEARCH):
        found = np.concatenate(scores[name])
        highest = np.abs(found.max(axis=(1, 2)) - exact_highest) / exact_highest
        rows += [Row(f"{name} search", float(np.median(times[name])), float(np.median(times[REFERENCE_SEARCH])), "ms"),
                 Row("  patches equal to exact", float(np.mean(np.abs(found - exact) <= 1e-4 * exact)), None, "share"),
                 Row("  largest frame-score error", float(highest.max()), None, "relative")]
    rows += _decisive_rows(detector, indexes["clustered"], features, good)
    memory = detector.bank.memory
    return (f"search alone, batch 1, {len(images)} frames, bank {memory.shape[0]} x {memory.shape[1]} "
            f"(baseline = exact faiss flat; decisive proof: the clustered search and map proving only the deciding "
            f"cells, baseline = its whole proof)", rows)


def _decisive_rows(detector: Detector, index: ClusteredIndex, features: list[np.ndarray],
                   good: list[bool]) -> list[Row]:
    """Search and map per frame: the clustered ``index`` proving only the deciding cells, and proving every cell."""
    settings = detector.settings
    map_arguments = (detector.input_shape, settings.map_sigma(), detector.grid_centre, settings.score_top_k)
    times: dict[str, list[float]] = {"deciding": [], "whole": []}
    for one in features:
        started = time.perf_counter()
        settled_scores_and_maps(index.open(one), lambda grids: grids, *map_arguments, detector.threshold, settings.roi)
        times["deciding"].append((time.perf_counter() - started) * 1000.0)
        started = time.perf_counter()
        scores_and_maps(index.patch_scores(one), *map_arguments, settings.roi)
        times["whole"].append((time.perf_counter() - started) * 1000.0)
    return [Row(f"decisive proof, {label} ({len(indices)})",
                *(float(np.median([times[name][i] for i in indices])) for name in ("deciding", "whole")), "ms")
            for label, indices in good_and_defective(good)]
