"""The part's layout: a structural check that compares each place of a frame with what the goldens show there.

The memory bank asks only whether each patch of a frame looks like some patch of the goldens, anywhere and at any
of its rotated copies' angles. A feature that is absent or misplaced is invisible to it: every patch where a label,
a fill level or a bolt hole should be shows glass, juice or metal that the goldens show elsewhere. The structural
check compares each patch with the goldens' patches (each golden and its brightness-gain copies) at the same place,
give or take ``REACH`` cells, so what is missing, extra or misplaced scores there. Its distances are put on the
bank's scale by the goldens' own hold-out scores (each golden against the others) with ``MARGIN`` on top; a patch's
score is the larger of the bank's distance and the scaled structural one, and the threshold is taken again from the
goldens' hold-out maps so scored.

``layout: auto`` (the default) fits the check where ``MIN_GOLDENS`` goldens or more show a part on a background of
its own colour, the frame is whole or registered onto the first golden's pose, not turned to a long axis (whose two
ends the bank holds both ways; detector/pose.py), and the goldens agree place by place:
their largest structural hold-out score lies at or below the bank's threshold (``agreement`` <= 1). Where parts lie
where they like, a place holds different things on different goldens and the check is not fitted; two goldens alone
can lie alike by chance (fryum, 2 goldens, seed 1: 0.982 -> 0.693 image AUROC with the check), hence three.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from inspectd.detector.bank import Bank
from inspectd.detector.calibration import threshold_from_scores
from inspectd.detector.registration import grid_centre
from inspectd.detector.scoring import scores_and_maps
from inspectd.detector.settings import DetectorSettings

REACH = 1  # cells (8 px at the input shape) the structural check looks round each place
MARGIN = 1.1  # structural hold-out scores are this far inside the threshold
MIN_GOLDENS = 3  # two goldens can lie alike by chance (module docstring)
# grid rows compared at a time (structural_distances): 4 rows of 24 golden copies are about 2.6 MB at 320 px. One
# thread, a 40 x 40 grid against 24 copies: 2 / 4 / 8 rows 21.1 / 18.6 / 19.1 ms, the whole grid at once 78.6 ms
BLOCK_ROWS = 4


@dataclass(frozen=True)
class StructuralCheck:
    """Each patch of a frame against the goldens' patches at its place (``REACH``)."""

    goldens: np.ndarray  # [K, C, h, w, D]: each golden and its brightness-gain copies (Bank.layout_features)
    scale: float  # structural distances times this are on the bank's scale

    @classmethod
    def of(cls, bank: Bank) -> StructuralCheck | None:
        """The bank's check; None where its goldens do not agree on a layout or it was written before the check."""
        structure = bank.manifest.get("structure")
        return None if structure is None or bank.layout_features is None else cls(bank.layout_features,
                                                                                 structure["scale"])

    @cached_property
    def _places(self) -> GoldenPlaces:
        # once per bank: widening the float16 goldens and padding them took 14 of a frame's 64 ms (8 goldens)
        return GoldenPlaces.of(self.goldens.reshape(-1, *self.goldens.shape[2:]))

    def patch_scores(self, features: np.ndarray) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w]: each patch's scaled distance to the nearest golden patch within ``REACH``
        cells of its place."""
        return self.scale * self._places.distances(features)

    def holdout_grids(self) -> np.ndarray:
        """[K, h, w]: each golden's own copy scored against the other goldens' copies, as the fit scored it."""
        return self.scale * holdout_distances(self.goldens)


def holdout_distances(goldens: np.ndarray) -> np.ndarray:
    """The goldens' features [K, C, h, w, D] (each golden's own copy first) -> [K, h, w] the structural distances of
    each golden's own copy to the other goldens' copies."""
    own = np.ascontiguousarray(goldens[:, 0], np.float32)
    return np.concatenate([
        structural_distances(own[g:g + 1], np.delete(goldens, g, axis=0).reshape(-1, *goldens.shape[2:]))
        for g in range(len(goldens))])


def structural_distances(features: np.ndarray, goldens: np.ndarray) -> np.ndarray:
    """[B, h, w, D] frames' and [G, h, w, D] goldens' features -> [B, h, w] nearest distance at each place."""
    return GoldenPlaces.of(goldens).distances(features)


@dataclass(frozen=True)
class GoldenPlaces:
    """The goldens' features [G, h + 2 REACH, w + 2 REACH, D] in float32, padded by ``REACH`` cells with a border
    far from any feature (never nearest), and their squared lengths: what every frame is compared with."""

    padded: torch.Tensor
    norms: torch.Tensor

    @classmethod
    def of(cls, goldens: np.ndarray) -> GoldenPlaces:
        """[G, h, w, D] goldens' features (any float type)."""
        padded = _padded(torch.from_numpy(np.ascontiguousarray(goldens, np.float32)), REACH)
        return cls(padded, (padded * padded).sum(-1))

    def distances(self, features: np.ndarray) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w]: each patch's distance to the nearest golden patch within ``REACH`` cells.

        Per frame, ``BLOCK_ROWS`` grid rows at a time: the goldens' rows round a block (a few MB) stay in cache
        while the block is compared with each of its (2 ``REACH`` + 1)^2 offsets, where comparing the whole grid at
        each offset read all the goldens from memory nine times (juice_bottle, 8 goldens: 83 ms a frame;
        docs/performance.md). |f - g|^2 = |f|^2 + |g|^2 - 2 f.g, with |f|^2 added once the nearest is found."""
        with torch.inference_mode():
            frames = torch.from_numpy(np.ascontiguousarray(features, np.float32))
            height, width = frames.shape[1:3]
            best = torch.full(frames.shape[:3], float("inf"))
            offsets = [(row, column) for row in range(2 * REACH + 1) for column in range(2 * REACH + 1)]
            for frame, nearest in zip(frames, best):
                for top in range(0, height, BLOCK_ROWS):
                    bottom = min(top + BLOCK_ROWS, height)
                    block, block_nearest = frame[None, top:bottom], nearest[top:bottom]  # [1, r, w, D], [r, w]
                    for row, column in offsets:
                        places = (slice(None), slice(top + row, bottom + row), slice(column, column + width))
                        squared = self.norms[places] - 2 * (block * self.padded[places]).sum(-1)  # [G, r, w]
                        torch.minimum(block_nearest, squared.amin(0), out=block_nearest)
            return best.add_((frames * frames).sum(-1)).clamp_min_(0.0).sqrt_().numpy()


def _padded(goldens: torch.Tensor, reach: int) -> torch.Tensor:
    """[K, h, w, D] -> [K, h + 2 reach, w + 2 reach, D], the new border far from any feature (never nearest)."""
    count, height, width, dim = goldens.shape
    padded = torch.full((count, height + 2 * reach, width + 2 * reach, dim), 1e4)
    padded[:, reach:reach + height, reach:reach + width] = goldens
    return padded


def fit_structure(bank_grids: np.ndarray, goldens: np.ndarray, settings: DetectorSettings,
                  shape: tuple[int, int], scored_cells: np.ndarray | None = None) -> tuple[float, dict]:
    """The goldens' features [K, C, h, w, D] (K >= MIN_GOLDENS; ``MemoryFit.layout_features``, each golden's own copy
    first) and each golden's own copy's bank hold-out grid [K, h, w] (``MemoryFit.holdout_grids``) -> the
    threshold with the structural check and the manifest's ``structure`` block.

    Each golden's own copy against the other goldens' copies gives its hold-out score; ``scale`` puts their
    largest ``MARGIN`` inside the bank's threshold. The threshold is then taken again, as the bank's was, from
    each golden's map with the check (its bank hold-out grid and its scaled structural grid, the larger per
    patch), so a golden's own layout never fails it. ``scored_cells`` [K, h, w]: the cells that count (as the bank's
    hold-out grids were cut: ``MemoryFit.scored_cells``); None: all."""
    structural = holdout_distances(goldens)
    if scored_cells is not None:
        structural = structural * scored_cells
    centre = grid_centre(settings)
    structural_scores, _ = scores_and_maps(structural, shape, settings.map_sigma(), centre, settings.score_top_k,
                                           settings.roi)
    bank_scores, _ = scores_and_maps(bank_grids, shape, settings.map_sigma(), centre, settings.score_top_k,
                                     settings.roi)
    bank_threshold = threshold_from_scores(bank_scores, settings.target_false_reject)
    scale = float(bank_threshold / (MARGIN * max(float(structural_scores.max()), 1e-12)))
    combined, _ = scores_and_maps(np.maximum(bank_grids, scale * structural), shape, settings.map_sigma(), centre,
                                  settings.score_top_k, settings.roi)
    threshold = threshold_from_scores(combined.astype(np.float64), settings.target_false_reject)
    # above 1: the goldens differ place by place more than the bank (any place, any copy) tells them apart
    agreement = float(structural_scores.max()) / max(bank_threshold, 1e-12)
    return threshold, {"reach": REACH, "margin": MARGIN, "scale": round(scale, 6), "agreement": round(agreement, 4),
                       "holdout_scores": [round(float(s), 6) for s in structural_scores],
                       "combined_holdout_scores": [round(float(s), 6) for s in combined]}
