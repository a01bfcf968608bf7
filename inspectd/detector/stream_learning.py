"""Stream learning: a candidate bank and threshold from a product's own recent, unlabeled frames (issue 24).

A line's frames are nearly all good, so they show the normal variation a handful of goldens miss. The
candidate is the base bank (the goldens' memory, untouched) plus stream patches admitted by three guards:

- nothing that looked defective enters: a patch is a candidate only if its own patch score against the serving
  bank was at or below the serving threshold when it was seen. The guard is on patches, not frames: with 4
  goldens the serving bank fails 25-85 % of good frames, and the rest of those frames holds the variation the
  goldens miss. Admitting from passed frames only admitted a median 39 rows and bought no AUROC; from every
  frame, patches under the threshold, the nine categories gained 0.014 (docs/stream-learning.md). Frames an
  operator marked defective never reach the sample;
- it must recur: at least ``min_recurrence`` distinct sample frames (its own included) hold a patch nearer to it
  than ``recurrence_ratio`` times its distance to the bank, i.e. the stream explains it better than the bank
  does. A one-off defect has no such neighbours (tests/test_stream_learning.py);
- the admitted set is thinned by greedy k-center to at most ``max_admitted_share`` of the base memory, so the
  memory is bounded by (1 + share) times the fit's.

Threshold: each stream frame is scored against the candidate without the rows it contributed (its row group,
as the goldens are held out at fit time). With at most a share ``p`` of defective frames, the stream's threshold
is the (1 - p - t) quantile of those scores, t the target false-reject rate, but never above the (1 - t) quantile
of a Gumbel law fitted to them by median and MAD. The candidate serves the smaller of that and the base bank's
(goldens') threshold times ``max_threshold_rise`` (1.0), and never less than the goldens' hold-out scores against
the candidate (the goldens still pass). By default stream learning thus lowers false rejects by separation (the
admitted variation lowers good frames' scores) and may lower the threshold, but never raises it: a stream whose
defects overlap the goods (a worn tool marking a third of the parts) would otherwise put the quantile among those
defects and lift the threshold past them (that type's escape 0.22 -> 0.61 over nine categories, seeds 0-2, with
the stream's quantile served; docs/stream-learning.md).

Validation before anything serves: every array finite, the goldens pass, the threshold moves by at most a
factor ``max_threshold_change`` from the base's, the stream's median score does not rise against the base
bank's, and no more stream frames lie above the stream's threshold than a binomial count at share p + t exceeds
with chance ``ABOVE_LEVEL`` (more means the stream holds more defects than assumed, or the goods' tail is heavier
than the Gumbel law's). A refused candidate is reported and never written.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
from scipy.stats import binom

from inspectd.detector.bank import Bank
from inspectd.detector.calibration import leave_one_group_out_grids
from inspectd.detector.coreset import greedy_coreset
from inspectd.detector.layout import StructuralCheck
from inspectd.detector.registration import grid_centre
from inspectd.detector.scoring import scores_and_maps
from inspectd.detector.search import patch_index

ABOVE_LEVEL = 0.01  # chance that a stream within the assumptions is refused for its frames above the threshold
CANDIDATE_BLOCK = 256  # candidate patches measured together
# sample frames each block is measured against per step; a candidate leaves the block as soon as enough frames
# show it, and most do within the first steps. [256, 4 x 1600] float32 distances: 6.6 MB
FRAME_STEP = 4


@dataclass(frozen=True)
class StreamRule:
    """The admission and threshold rule's parameters (stored in the manifest with every candidate)."""

    min_recurrence: int = 3  # distinct sample frames, its own included, that must show the patch
    recurrence_ratio: float = 0.7  # "shows it": a patch nearer than this share of its distance to the bank
    defect_share: float = 0.05  # p: the share of defective frames the stream may hold at most
    # t: the share of good parts the threshold may reject. The bank's golden-calibrated target (0.01) is what a
    # few goldens cannot deliver; aimed at from 50 frames it bought no false rejects and 0.47-0.86 escapes on
    # juice_bottle, magnetic_tile and tire (docs/stream-learning.md), so the stream aims at the line's figure
    target_false_reject: float = 0.05
    max_threshold_change: float = 1.5  # refused when new / base threshold lies outside [1 / x, x]
    max_admitted_share: float = 1.0  # admitted rows at most this share of the base memory
    # the served threshold at most this factor of the base's: 1.0 lowers false rejects by separation only; above
    # it, a stream whose defects overlap the goods lifts the threshold among them (docs/stream-learning.md)
    max_threshold_rise: float = 1.0


@dataclass(frozen=True)
class StreamSample:
    """Recent frames of one product: embedded features [N, h, w, D] at the bank's input shape, their ids,
    and whether the serving bank passed each one."""

    features: np.ndarray
    frame_ids: list[str]
    passed: np.ndarray  # [N] bool


@dataclass
class StreamCandidate:
    bank: Bank  # the candidate (its manifest holds the provenance under "stream_learning")
    accepted: bool
    problems: list[str]  # why it was refused (empty when accepted)
    stream_scores_before: np.ndarray  # [N] each frame against the base bank
    stream_scores: np.ndarray  # [N] each frame against the candidate without its own rows
    admitted_rows: int

    @property
    def threshold(self) -> float:
        return self.bank.threshold


def fit_stream_candidate(base: Bank, sample: StreamSample, rule: StreamRule) -> StreamCandidate:
    """The candidate bank for ``sample`` on top of ``base`` (a format-2 bank), validated (``accepted``)."""
    if base.holdout_features is None or base.row_groups is None:
        raise ValueError(f"bank {base.version or '(in memory)'} has no hold-out features (format 1): "
                         "stream learning needs them to check that the goldens still pass; refit the product")
    features = np.ascontiguousarray(sample.features, dtype=np.float32)
    if features.ndim != 4 or features.shape[-1] != base.memory.shape[1] or len(features) != len(sample.frame_ids):
        raise ValueError(f"stream features {features.shape} do not fit the bank's memory {base.memory.shape} "
                         f"and {len(sample.frame_ids)} frame ids")
    settings = base.settings
    target = rule.target_false_reject
    check = StructuralCheck.of(base)  # unchanged by the stream: it holds the goldens' layout only
    served = _served_grids(check, features)
    grids = patch_index(base.memory, settings.search).patch_scores(features)
    before = _image_scores(base, served(grids))
    admitted, admitted_frames = admitted_patches(features, grids, base.threshold, rule)
    budget = int(rule.max_admitted_share * len(base.memory))
    if len(admitted) > budget:
        kept = np.sort(greedy_coreset(admitted, budget, settings.seed)) if budget > 0 else np.zeros(0, int)
        admitted, admitted_frames = admitted[kept], admitted_frames[kept]
    first_group = max(len(base.holdout_features), int(base.row_groups.max()) + 1)
    memory = np.ascontiguousarray(np.concatenate([base.memory, admitted]), dtype=np.float32)
    row_groups = np.concatenate([base.row_groups, (first_group + admitted_frames).astype(np.int32)])
    after = _image_scores(base, served(_leave_one_frame_out_grids(memory, row_groups, features, first_group,
                                                                  settings.search)))
    golden_grids = leave_one_group_out_grids(memory, row_groups, base.holdout_features, settings.search)
    golden_scores = _image_scores(base, golden_grids if check is None else np.maximum(golden_grids,
                                                                                      check.holdout_grids()))
    quantile = float(np.quantile(after, 1.0 - rule.defect_share - target, method="higher"))
    stream_threshold = min(quantile, gumbel_quantile(after, 1.0 - target))
    threshold = max(min(stream_threshold, rule.max_threshold_rise * base.threshold), float(golden_scores.max()))
    problems = _problems(base, memory, before, after, golden_scores, stream_threshold, threshold, rule, target)
    manifest = _manifest(base, sample, rule, target, memory, before, after, golden_scores, stream_threshold,
                         threshold, len(admitted), problems)
    bank = Bank(memory=memory, manifest=manifest, row_groups=row_groups, holdout_features=base.holdout_features,
                layout_features=base.layout_features)
    return StreamCandidate(bank, not problems, problems, before, after, len(admitted))


def admitted_patches(features: np.ndarray, grids: np.ndarray, threshold: float,
                     rule: StreamRule) -> tuple[np.ndarray, np.ndarray]:
    """(admitted patch vectors [A, D], the stream frame each came from [A]): every patch of every sample frame
    whose distance to the base bank (``grids`` [N, h, w]) was above 0 (the bank does not hold it already) and at
    most ``threshold`` (it did not look defective), and that at least ``rule.min_recurrence`` distinct frames, its
    own included, show (hold a patch nearer to it than ``recurrence_ratio`` times its distance to the bank)."""
    count, dim = len(features), features.shape[-1]
    if count < rule.min_recurrence:
        return np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
    distances = grids.reshape(-1)
    examined = np.flatnonzero((distances > 0) & (distances <= threshold))
    pool = torch.from_numpy(np.ascontiguousarray(features.reshape(count, -1, dim)))  # [F, P, D]
    pool_norms = (pool * pool).sum(-1)  # [F, P]
    candidates = pool.reshape(-1, dim)
    source = examined // pool.shape[1]
    recurring = np.zeros(len(examined), bool)
    with torch.inference_mode():
        for start in range(0, len(examined), CANDIDATE_BLOCK):
            block = slice(start, start + CANDIDATE_BLOCK)
            rows = examined[block]
            recurring[block] = _shown_by_enough_frames(candidates[torch.from_numpy(rows)],
                                                       rule.recurrence_ratio * distances[rows], source[block], pool,
                                                       pool_norms, rule.min_recurrence)
    chosen = examined[recurring]
    return candidates[torch.from_numpy(chosen)].numpy(), source[recurring]


def _shown_by_enough_frames(block: torch.Tensor, reach: np.ndarray, own: np.ndarray, pool: torch.Tensor,
                            pool_norms: torch.Tensor, needed: int) -> np.ndarray:
    """[B] bool: whether at least ``needed`` distinct frames of ``pool`` [F, P, D], each row's ``own`` frame
    included, hold a patch within ``reach`` [B] of that row of ``block`` [B, D]. Frames are measured
    ``FRAME_STEP`` at a time, and a row stops being measured once enough frames have shown it: the answer is
    the one measuring every frame gives, at a fraction of the products."""
    shown = np.ones(len(block), np.int64)  # its own frame holds the patch itself
    block_norms = (block * block).sum(1)
    active = np.arange(len(block))
    for first in range(0, len(pool), FRAME_STEP):
        if len(active) == 0:
            break
        frames = slice(first, first + FRAME_STEP)
        rows = torch.from_numpy(active)
        products = torch.einsum("bd,fpd->bfp", block[rows], pool[frames])
        squared = (block_norms[rows][:, None, None] + pool_norms[None, frames] - 2 * products).amin(-1)  # [A, f]
        near = squared.clamp_min_(0).sqrt_().numpy() < reach[active][:, None]
        near[own[active][:, None] == np.arange(first, first + near.shape[1])[None]] = False  # counted already
        shown[active] += near.sum(1)
        active = active[shown[active] < needed]
    return shown >= needed


def _served_grids(check: StructuralCheck | None, features: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The bank's patch-score grids of ``features`` -> the grids the detector serves: the larger of each and the
    structural check's (detector/layout.py), where the bank has one."""
    if check is None:
        return lambda grids: grids
    structural = check.patch_scores(features)
    return lambda grids: np.maximum(grids, structural)


def _leave_one_frame_out_grids(memory: np.ndarray, row_groups: np.ndarray, features: np.ndarray, first_group: int,
                               search: str) -> np.ndarray:
    """Patch-score grid of each stream frame against the memory without the rows that frame contributed."""
    contributed = np.isin(np.arange(len(features)) + first_group, row_groups)
    grids = np.empty(features.shape[:3], np.float32)
    index = patch_index(memory, search)
    if not contributed.all():  # the whole memory serves every frame that added no rows
        grids[~contributed] = index.patch_scores(features[~contributed])
    for frame in np.flatnonzero(contributed):
        grids[frame] = index.patch_scores(features[frame:frame + 1], excluded=row_groups == first_group + frame)[0]
    return grids


def _image_scores(bank: Bank, grids: np.ndarray) -> np.ndarray:
    settings = bank.settings
    shape = tuple(bank.manifest.get("input_shape") or (settings.input_size,) * 2)
    scores, _ = scores_and_maps(grids, shape, settings.map_sigma(), grid_centre(settings), settings.score_top_k,
                                settings.roi)
    return scores.astype(np.float64)


def _problems(base: Bank, memory: np.ndarray, before: np.ndarray, after: np.ndarray, golden_scores: np.ndarray,
              stream_threshold: float, threshold: float, rule: StreamRule, target: float) -> list[str]:
    """Why the candidate may not serve (empty: it may)."""
    if not (np.isfinite(memory).all() and np.isfinite(after).all() and np.isfinite(golden_scores).all()
            and np.isfinite(threshold)):
        return ["non-finite values in the candidate's memory or scores"]
    problems = []
    if golden_scores.max() > threshold:
        problems.append(f"a golden's hold-out score {golden_scores.max():.4f} exceeds the threshold {threshold:.4f}")
    ratio = threshold / base.threshold
    if not 1.0 / rule.max_threshold_change <= ratio <= rule.max_threshold_change:
        problems.append(f"threshold {base.threshold:.4f} -> {threshold:.4f} moves by x{ratio:.3f}, outside the "
                        f"bound x{1 / rule.max_threshold_change:.3f}..x{rule.max_threshold_change:.3f}")
    if np.median(after) > np.median(before) * 1.05:
        problems.append(f"the stream's median score rose from {np.median(before):.4f} to {np.median(after):.4f}")
    above = int((after > stream_threshold).sum())
    allowed = int(binom.ppf(1.0 - ABOVE_LEVEL, len(after), rule.defect_share + target))
    if above > allowed:
        problems.append(f"{above} of the {len(after)} stream frames lie above the stream's threshold (allowed: {allowed}, "
                        f"what {rule.defect_share} defects + {target} false rejects exceed with chance {ABOVE_LEVEL}): "
                        "the stream holds more defects than assumed")
    return problems


def gumbel_quantile(scores: np.ndarray, level: float) -> float:
    """The ``level`` quantile of a Gumbel law fitted to ``scores`` by their median and median absolute deviation
    (robust to up to half the scores coming from elsewhere). An image score is the largest of many patch
    distances, and maxima follow a Gumbel law; the median and MAD of Gumbel(mu, beta) are mu + 0.3665 beta and
    0.7670 beta."""
    median = float(np.median(scores))
    beta = float(np.median(np.abs(scores - median))) / 0.7670
    return median - beta * 0.3665 - beta * float(np.log(-np.log(level)))


def _quantiles(scores: np.ndarray) -> dict:
    return {f"q{int(q * 100):02d}": round(float(np.quantile(scores, q)), 6) for q in (0.05, 0.5, 0.95)}


def _manifest(base: Bank, sample: StreamSample, rule: StreamRule, target: float, memory: np.ndarray,
              before: np.ndarray, after: np.ndarray, golden_scores: np.ndarray, stream_threshold: float,
              threshold: float, admitted: int, problems: list[str]) -> dict:
    manifest = json.loads(json.dumps(base.manifest))  # deep copy, JSON types only
    manifest.pop("stream_learning", None)
    above = int((after > threshold).sum())
    manifest["stream_learning"] = {
        "base_version": base.version or None,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rule": {**asdict(rule), "target_false_reject": target},
        "frames": list(sample.frame_ids),
        "passed_frames": int(np.sum(sample.passed)),
        "scores_before": _quantiles(before),
        "scores_after": _quantiles(after),
        "admitted_rows": admitted,
        "base_rows": len(base.memory),
        "threshold": {"base": base.threshold, "stream_rule": stream_threshold,
                      "golden_floor": round(float(golden_scores.max()), 6), "new": threshold},
        "problems": problems,
    }
    manifest["calibration"] = {**manifest["calibration"],
                               "holdout_scores": [round(float(x), 6) for x in golden_scores],
                               "against": f"stream-learned bank ({len(after)} frames)",
                               # stream frames above the threshold, as a share of a new frame's chances
                               "expected_false_reject": round((above + 1) / (len(after) + 1), 4)}
    manifest["threshold"] = threshold
    manifest["memory_shape"] = list(memory.shape)
    manifest["counts"] = {**manifest.get("counts", {}), "coreset": len(memory), "stream_rows": admitted}
    return manifest
