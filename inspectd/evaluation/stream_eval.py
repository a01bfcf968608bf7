"""Simulated stream learning (issue 24): ``inspectd eval --stream N --defect-rate P [--systematic S] [--drift]``.

Per category and seed: the K-shot bank, then a stream of N unlabeled frames (train/good images not drawn as
golden, plus test defectives at share P; with ``--systematic S`` a share S of the frames are test defectives of
the category's most common defect type instead), which the serving bank inspects and stream learning fits a
candidate from (detector/stream_learning.py). Every test image not used in the stream is scored by the bank
before and after; a refused candidate leaves the bank as it was. Each draw's bank is the detector's: a whole-frame
bank with its part outline and structural check (the features cached, ``feedback_eval.fit_seed``), or where the
goldens call for pose alignment (a long part, a registered one) the aligned bank ``fit_bank`` makes, its frames'
features taken through the detector as the daemon takes them (``DrawView``).

``--drift``: the same stream through the drift watch (detector/drift.py), its first half the reference and its
second half darkened by 20 % (and, for false alarms, left as it was).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from inspectd.detector.augment import brighten
from inspectd.detector.bank import Bank
from inspectd.detector.detector import Detector
from inspectd.detector.drift import DriftRule, DriftWatch
from inspectd.detector.embedder import embed
from inspectd.detector.features import resize_to
from inspectd.detector.scoring import rejected
from inspectd.detector.fit import fit_bank, golden_outline
from inspectd.detector.pose import fit_pose
from inspectd.detector.settings import NO_AUGMENTATION, AugmentationSet, DetectorSettings
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate
from inspectd.evaluation.dataset import draw_shots
from inspectd.evaluation.feedback_eval import FeedbackRun, fit_seed, undrawn
from inspectd.evaluation.harness import EvalResult
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

DRIFT_GAIN = 0.8  # -20 % brightness


@dataclass
class StreamEvalResult(EvalResult):
    """Rates after the stream (the EvalResult fields) and before it (``*_before``), on the same test images."""
    stream_frames: int = 0
    defect_rate: float = 0.0  # share of the stream that was defective (as drawn)
    image_auroc_before: float = 0.0
    false_reject_rate_before: float = 0.0
    escape_rate_before: float = 0.0
    threshold_before: float = 0.0
    threshold: float = 0.0
    admitted_rows: int = 0
    candidate_accepted: bool = False
    refused_because: list[str] = field(default_factory=list)
    systematic_type: str | None = None  # the defect type a systematic stream carried
    type_escape_rate_before: float | None = None  # that type's escape rate on its images not in the stream
    type_escape_rate: float | None = None


@dataclass(frozen=True)
class DriftRow:
    category: str
    seed: int
    reference_frames: int
    changed_frames: int
    fired_after: int | None  # frames after the brightness change when the watch fired (None: never)
    statistic: str | None
    false_alarm_after: int | None  # frames into the unchanged second half when it fired (None: never)


@dataclass(frozen=True)
class Stream:
    goods: list  # train/good paths
    defects: np.ndarray  # test image indices
    order: np.ndarray  # frame order over goods then defects
    systematic_type: str | None


def draw_stream(run: FeedbackRun, pool: list, frames: int, defect_rate: float, seed: int,
                systematic: float | None) -> Stream:
    """The frames of one stream (seeded): defectives from the test set, the rest from the unused train goods."""
    rng = np.random.RandomState(seed)
    labels, types = run.category.test_labels, run.category.test_types
    defective = np.flatnonzero(labels == 1)
    kind = None
    if systematic:
        kind = Counter(types[i] for i in defective).most_common(1)[0][0]
        of_kind = np.array([i for i in defective if types[i] == kind])
        count = min(int(round(systematic * frames)), len(of_kind) // 2)  # half the type stays for scoring
        chosen = rng.choice(of_kind, count, replace=False)
    else:
        chosen = rng.choice(defective, int(round(defect_rate * frames)), replace=False)
    goods = [pool[i] for i in rng.permutation(len(pool))[:frames - len(chosen)]]
    return Stream(goods, chosen, rng.permutation(len(goods) + len(chosen)), kind)


@dataclass(frozen=True)
class DrawView:
    """One draw's bank and how it sees frames: embedded features of train goods (by path) and of test images (by
    index), each at a brightness gain (1: as taken), and the frames at the bank's frame shape."""
    bank: Bank
    pool: list  # the train/good paths not drawn as goldens
    goods: Callable[[list, float], np.ndarray]
    tests: Callable[[np.ndarray, float], np.ndarray]
    good_frames: Callable[[list], list[np.ndarray]]
    test_frames: list[np.ndarray]
    # the patch-grid cells that count in a frame's score (a pose-aligned crop's cells beyond the frame's edge do not,
    # as in inspection): of train goods by path, of test images by index; None: every cell (whole frames)
    good_cells: Callable[[list], np.ndarray] | None = None
    test_cells: np.ndarray | None = None

    def stream_cells(self, stream: Stream) -> np.ndarray | None:
        """The scored cells of the stream's frames in stream order; None: every cell."""
        if self.test_cells is None:
            return None
        return np.concatenate([self.good_cells(stream.goods), self.test_cells[stream.defects]])[stream.order]


def cached_view(run: FeedbackRun, shots: int, seed: int) -> DrawView:
    """The whole-frame bank of the seed's goldens, its frames' features from the category's feature cache."""
    bank, pool = fit_seed(run, shots, seed)
    detector = Detector(bank)
    test_frames = run.cache.test_frames(run.category.test_images)

    def goods(paths: list, gain: float) -> np.ndarray:
        copies = NO_AUGMENTATION if gain == 1.0 else AugmentationSet(rotations=1, gains=(gain,))
        return np.concatenate([embed(run.cache.golden(path, copies)[0][-1:], run.settings.embedder)
                               for path in paths])

    def tests(indices: np.ndarray, gain: float) -> np.ndarray:
        if gain == 1.0:
            return run.test_features[indices]
        return detector.embedded_features([brighten(test_frames[i], gain) for i in indices], {})

    return DrawView(bank, pool, goods, tests, lambda paths: [run.cache.golden_frame(p) for p in paths], test_frames)


def aligned_view(run: FeedbackRun, settings: DetectorSettings, shots: int, seed: int) -> DrawView | None:
    """The pose-aligned bank of the seed's goldens (``fit_bank``, as refit makes it) where the goldens call for one
    (decided as the eval harness decides it), its frames' features through the detector, as the daemon takes them;
    None where they do not."""
    seeded = replace(settings, seed=seed)
    drawn = draw_shots(len(run.category.train_files), shots, seed)
    paths = [run.category.train_files[i] for i in drawn]
    frames = [run.cache.golden_frame(path) for path in paths]
    if fit_pose(frames, golden_outline(frames, seeded), seeded) is None:
        return None
    detector = Detector(fit_bank([read_rgb(path) for path in paths], seeded))

    def framed(images: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """(frames, embedded features, scored cells) of images, each turned and cropped once."""
        frames, inputs, placements = detector.framed(images)
        features = np.concatenate([detector.embedded_features([crop], {}) for crop in inputs])
        return frames, features, detector.pose.cells_on_frame(placements, features.shape[1:3])

    def features(images: list[np.ndarray], gain: float) -> np.ndarray:
        return framed([brighten(image, gain) for image in images])[1]

    def cells(images: list[np.ndarray]) -> np.ndarray:
        """The scored cells of images: from where their crops are placed alone, no crops or features needed."""
        return detector.pose.cells_on_frame(detector.placed(images)[1], test_features.shape[1:3])

    test_frames, test_features, test_cells = framed(run.category.test_images)
    return DrawView(detector.bank, undrawn(run, drawn),
                    lambda paths, gain: features([read_rgb(p) for p in paths], gain),
                    lambda indices, gain: test_features[indices] if gain == 1.0 else features(
                        [run.category.test_images[i] for i in indices], gain),
                    lambda paths: [resize_to(read_rgb(p), detector.frame_shape) for p in paths], test_frames,
                    lambda paths: cells([read_rgb(p) for p in paths]), test_cells)


def stream_features(view: DrawView, stream: Stream, gain: float = 1.0) -> np.ndarray:
    """The stream's frames' features in stream order, at ``gain``."""
    return np.concatenate([view.goods(stream.goods, gain), view.tests(stream.defects, gain)])[stream.order]


def _verdicts(bank: Bank, features: np.ndarray, cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rejected) of embedded features under ``bank``, presence check included; ``cells``: the patch-grid
    cells that count (``DrawView``; None: all)."""
    detector = Detector(bank)
    scores, _ = detector.score_maps(features, {}, cells)
    return scores, rejected(scores, bank.threshold, detector.part_missing(features))


def stream_result(run: FeedbackRun, view: DrawView, shots: int, seed: int, frames: int, defect_rate: float,
                  rule: StreamRule, systematic: float | None = None) -> StreamEvalResult:
    """One stream learnt by the draw's bank."""
    bank = view.bank
    stream = draw_stream(run, view.pool, frames, defect_rate, seed, systematic)
    features = stream_features(view, stream)
    _, failed = _verdicts(bank, features, view.stream_cells(stream))
    ids = [str(p.name) for p in stream.goods] + [f"test-{i}" for i in stream.defects]
    started = time.perf_counter()
    candidate = fit_stream_candidate(bank, StreamSample(features, [ids[i] for i in stream.order], ~failed), rule)
    fit_seconds = time.perf_counter() - started
    after = candidate.bank if candidate.accepted else bank
    scored = np.ones(len(run.category.test_labels), bool)
    scored[stream.defects] = False  # the stream's defectives are not scored
    labels = run.category.test_labels[scored]
    started = time.perf_counter()
    test_features = view.tests(np.flatnonzero(scored), 1.0)
    test_cells = None if view.test_cells is None else view.test_cells[scored]
    (scores_before, rejected_before), (scores_after, rejected_after) = (
        _verdicts(b, test_features, test_cells) for b in (bank, after))
    ms_per_image = (time.perf_counter() - started) * 1000.0 / (2 * len(labels))  # two banks scored
    result = StreamEvalResult(
        category=run.category.name, method="graphcore+stream", shots=shots, seed=seed,
        image_auroc=auroc(scores_after, labels), pixel_auroc=None,
        false_reject_rate=float(rejected_after[labels == 0].mean()), escape_rate=float((~rejected_after)[labels == 1].mean()),
        fit_seconds=fit_seconds, ms_per_image=ms_per_image,
        stream_frames=len(stream.order), defect_rate=len(stream.defects) / len(stream.order),
        image_auroc_before=auroc(scores_before, labels),
        false_reject_rate_before=float(rejected_before[labels == 0].mean()),
        escape_rate_before=float((~rejected_before)[labels == 1].mean()),
        threshold_before=bank.threshold, threshold=after.threshold, admitted_rows=candidate.admitted_rows,
        candidate_accepted=candidate.accepted, refused_because=candidate.problems,
        systematic_type=stream.systematic_type)
    if stream.systematic_type is not None:
        of_kind = np.array(run.category.test_types)[scored] == stream.systematic_type
        result.type_escape_rate_before = float((~rejected_before)[of_kind].mean())
        result.type_escape_rate = float((~rejected_after)[of_kind].mean())
    return result


def _frame_statistics(detector: Detector, features: np.ndarray, frames: list[np.ndarray]) -> np.ndarray:
    """[N, 3]: image score, anomaly-map mean and mean pixel value of each frame, as the drift watch takes them."""
    scores, maps = detector.score_maps(features, {})
    return np.stack([scores, maps.mean(axis=(1, 2)), [frame.mean() for frame in frames]], axis=1)


def drift_row(run: FeedbackRun, view: DrawView, seed: int, frames: int, defect_rate: float,
              rule: DriftRule) -> DriftRow:
    """The drift watch over the stream: reference = its first half; then the second half darkened, and as is."""
    stream = draw_stream(run, view.pool, frames, defect_rate, seed, None)
    detector = Detector(view.bank)
    plain = view.good_frames(stream.goods) + [view.test_frames[i] for i in stream.defects]
    plain = [plain[i] for i in stream.order]
    normal = _frame_statistics(detector, stream_features(view, stream), plain)
    darkened = _frame_statistics(detector, stream_features(view, stream, DRIFT_GAIN),
                                 [brighten(frame, DRIFT_GAIN) for frame in plain])
    half = len(normal) // 2
    fired = {}
    for name, later in (("changed", darkened[half:]), ("unchanged", normal[half:])):
        watch = DriftWatch(DriftRule(half, rule.window, rule.min_window, rule.alpha))
        for values in normal[:half]:
            watch.observe(*values)
        fired[name] = (None, None)
        for count, values in enumerate(later, start=1):
            if (alarm := watch.observe(*values)) is not None:
                fired[name] = (count, alarm.statistic)
                break
    return DriftRow(run.category.name, seed, half, len(normal) - half, fired["changed"][0], fired["changed"][1],
                    fired["unchanged"][0])


def stream_table(results: list[StreamEvalResult]) -> str:
    """Mean over seeds per category: before -> after the stream."""
    lines = ["| category | seeds | stream (defective) | image AUROC | false reject | escape | threshold x | "
             "admitted rows | accepted |", "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[str, list[StreamEvalResult]] = {}
    for result in results:
        groups.setdefault(result.category, []).append(result)
    means = []
    for category, runs in list(groups.items()) + [("**mean**", results)]:
        row = {key: float(np.mean([getattr(r, key) for r in runs])) for key in (
            "image_auroc_before", "image_auroc", "false_reject_rate_before", "false_reject_rate", "escape_rate_before",
            "escape_rate", "stream_frames", "defect_rate", "admitted_rows")}
        ratio = float(np.mean([r.threshold / r.threshold_before for r in runs]))
        seeds = ",".join(str(r.seed) for r in runs) if category != "**mean**" else ""
        lines.append(f"| {category} | {seeds} | {row['stream_frames']:.0f} ({row['defect_rate']:.2f}) | "
                     f"{row['image_auroc_before']:.3f} -> {row['image_auroc']:.3f} | "
                     f"{row['false_reject_rate_before']:.3f} -> {row['false_reject_rate']:.3f} | "
                     f"{row['escape_rate_before']:.3f} -> {row['escape_rate']:.3f} | {ratio:.2f} | "
                     f"{row['admitted_rows']:.0f} | {sum(r.candidate_accepted for r in runs)}/{len(runs)} |")
        means.append(row)
    systematic = [r for r in results if r.systematic_type is not None]
    if systematic:
        lines += ["", "| category | seeds | systematic type | its escape before -> after |", "|---|---|---|---|"]
        for category, runs in groups.items():
            lines.append(f"| {category} | {','.join(str(r.seed) for r in runs)} | {runs[0].systematic_type} | "
                         f"{np.mean([r.type_escape_rate_before for r in runs]):.3f} -> "
                         f"{np.mean([r.type_escape_rate for r in runs]):.3f} |")
        lines.append(f"| **mean** | | | {np.mean([r.type_escape_rate_before for r in systematic]):.3f} -> "
                     f"{np.mean([r.type_escape_rate for r in systematic]):.3f} |")
    return "\n".join(lines)


def drift_table(rows: list[DriftRow]) -> str:
    lines = ["| category | seed | reference frames | darkened frames | fired after | statistic | false alarm |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.category} | {row.seed} | {row.reference_frames} | {row.changed_frames} | "
                     f"{row.fired_after if row.fired_after is not None else 'never'} | {row.statistic or '-'} | "
                     f"{'after ' + str(row.false_alarm_after) if row.false_alarm_after is not None else 'none'} |")
    return "\n".join(lines)


def run_stream_eval(data_dirs: list, shots: list[int], seeds: list[int], settings, frames: int, defect_rate: float,
                    systematic: float | None, drift: bool, echo=print, rule: StreamRule = StreamRule()
                    ) -> tuple[list[StreamEvalResult], list[DriftRow]]:
    """Every category, shot count and seed (the stream at ``defect_rate``, then with ``systematic`` the
    systematic-defect stream, then with ``drift`` the drift watch, all on one fitted bank); progress and the
    tables through ``echo``."""
    from inspectd.evaluation.feedback_eval import prepared_runs

    results, drifts = [], []
    streams = [None] + ([systematic] if systematic else [])
    for data_dir in data_dirs:
        for run, draws in prepared_runs(data_dir, shots, seeds, settings):
            for draw in draws:
                shot_count, seed = draw.shots, draw.seed
                view = aligned_view(run, settings, shot_count, seed) or cached_view(run, shot_count, seed)
                for share in streams:
                    result = stream_result(run, view, shot_count, seed, frames, defect_rate, rule, share)
                    results.append(result)
                    echo(f"stream {result.category} K={shot_count} seed={seed} systematic={share}: false reject "
                         f"{result.false_reject_rate_before:.3f} -> {result.false_reject_rate:.3f}, escape "
                         f"{result.escape_rate_before:.3f} -> {result.escape_rate:.3f}, AUROC "
                         f"{result.image_auroc_before:.3f} -> {result.image_auroc:.3f}, type escape "
                         f"{result.type_escape_rate_before} -> {result.type_escape_rate}"
                         + ("" if result.candidate_accepted else f" (refused: {'; '.join(result.refused_because)})"))
                if drift:
                    row = drift_row(run, view, seed, frames, defect_rate, DriftRule())
                    echo(f"drift {row.category} seed={seed}: fired after {row.fired_after}, false alarm after "
                         f"{row.false_alarm_after}")
                    drifts.append(row)
    echo(stream_table([r for r in results if r.systematic_type is None]))
    if systematic:
        echo(stream_table([r for r in results if r.systematic_type is not None]))
    if drifts:
        echo(drift_table(drifts))
    return results, drifts
