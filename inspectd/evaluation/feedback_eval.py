"""Simulated operator feedback (issue 7): rates at the calibrated threshold before and after the first
1, 2 and 4 false rejects of a separate pool of good images (the train/good images not drawn as
golden) are fed back as good, one at a time, exactly as ``inspectd feedback --good`` would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from inspectd.detector.bank import Bank
from inspectd.detector.detector import Detector
from inspectd.detector.embedder import embed
from inspectd.detector.feedback import add_good_copies
from inspectd.detector.fit import fit_memory, golden_outline, outline_entry, scoring_bank, with_structure
from inspectd.detector.scoring import rejected
from inspectd.detector.settings import NO_AUGMENTATION, DetectorSettings
from inspectd.evaluation.dataset import Category, Draw, draw_shots, draws_by_input_shape, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import escape_rate, false_reject_rate

FEEDBACK_STEPS = (0, 1, 2, 4)


@dataclass(frozen=True)
class FeedbackRow:
    category: str
    shots: int
    seed: int
    asked: int  # corrections asked for by this step (one of FEEDBACK_STEPS)
    feedbacks: int  # false rejects fed back so far (fewer than asked when the pool ran out of them)
    false_reject_rate: float
    escape_rate: float
    threshold: float


# recalibrate(bank before, bank after add_good_copies, the frame's copies) -> threshold; benchmarks compare
# rules with it (benchmarks/feedback_rules.py), the product rule is add_good_copies' own
Recalibrate = Callable[[Bank, Bank, np.ndarray], float]


@dataclass(frozen=True)
class FeedbackRun:
    """One category's cached features, ready to simulate feedback from any fitted bank."""
    category: Category
    cache: FeatureCache
    test_features: np.ndarray
    settings: DetectorSettings


def prepared_runs(data_dir: Path, shots: list[int], seeds: list[int],
                  settings: DetectorSettings) -> Iterator[tuple[FeedbackRun, list[Draw]]]:
    """Cached whole-frame features, one run per input shape the draws' fits get, with those draws
    (``dataset.draws_by_input_shape``: one where frames share one size). The simulation runs with pose alignment
    off (an aligned crop follows each seed's goldens, so it cannot be cached), and a long part's rows are those of
    the whole-frame detector."""
    settings = replace(settings, pose="off")
    category = load_category(data_dir)
    for shape, draws in draws_by_input_shape(category, shots, seeds, settings):
        cache = FeatureCache(settings, shape=shape)
        test_features = embed(cache.test(category.test_images)[0], settings.embedder)
        yield FeedbackRun(category, cache, test_features, settings), draws


def fit_seed(run: FeedbackRun, shots: int, seed: int) -> tuple[Bank, list[Path]]:
    """The whole-frame bank fitted on the seed's drawn goldens, with the part's outline and the structural check where
    the goldens call for them (as ``fit_bank`` fits it), and the pool: the train/good images not drawn."""
    seeded = replace(run.settings, seed=seed)
    drawn = draw_shots(len(run.category.train_files), shots, seed)
    goldens = [run.category.train_files[i] for i in drawn]
    outline = golden_outline([run.cache.golden_frame(path) for path in goldens], seeded)
    fitted, structure = with_structure(
        fit_memory(lambda i, a: embed(run.cache.golden(goldens[i], a)[0], seeded.embedder), shots, seeded,
                   run.cache.shape), seeded, outline, None)
    return scoring_bank(fitted, seeded, shots, outline_entry(outline, seeded), structure), undrawn(run, drawn)


def undrawn(run: FeedbackRun, drawn: list[int]) -> list[Path]:
    """The train/good images not drawn as goldens: the pool feedback and stream frames come from."""
    return [p for i, p in enumerate(run.category.train_files) if i not in drawn]


def simulate_feedback(run: FeedbackRun, bank: Bank, pool: list[Path], shots: int, seed: int,
                      recalibrate: Recalibrate | None = None) -> list[FeedbackRow]:
    """Rates after 0, 1, 2, 4 corrections: each time the first pool image the bank rejects is fed back."""
    pool, given, rows = list(pool), 0, []
    for step in FEEDBACK_STEPS:
        while given < step and (false_reject := _first_false_reject(bank, pool, run.cache, run.settings)) is not None:
            copies = embed(run.cache.golden(false_reject, run.settings.augmentations)[0], run.settings.embedder)
            grown, _ = add_good_copies(bank, Detector(bank), copies, str(false_reject))
            if recalibrate is not None:
                grown.manifest["threshold"] = recalibrate(bank, grown, copies)
            bank = grown
            pool.remove(false_reject)
            given += 1
        detector = Detector(bank)
        scores, _ = detector.score_maps(run.test_features, {})
        labels, missing = run.category.test_labels, detector.part_missing(run.test_features)
        rows.append(FeedbackRow(run.category.name, shots, seed, asked=step, feedbacks=given,
                                false_reject_rate=false_reject_rate(scores, labels, bank.threshold, missing),
                                escape_rate=escape_rate(scores, labels, bank.threshold, missing),
                                threshold=bank.threshold))
    return rows


def feedback_rows(data_dir: Path, shots: int, seeds: list[int], settings: DetectorSettings) -> list[FeedbackRow]:
    rows = [row for run, draws in prepared_runs(data_dir, [shots], seeds, settings) for draw in draws
            for row in simulate_feedback(run, *fit_seed(run, shots, draw.seed), shots, draw.seed)]
    return sorted(rows, key=lambda row: row.seed)


def _first_false_reject(bank: Bank, pool: list[Path], cache: FeatureCache, settings: DetectorSettings) -> Path | None:
    """The first pool image (in file order) the bank rejects (score or presence check), or None."""
    detector = Detector(bank)
    for path in pool:
        features = embed(cache.golden(path, NO_AUGMENTATION)[0], settings.embedder)
        scores, _ = detector.score_maps(features, {})
        if rejected(scores, bank.threshold, detector.part_missing(features))[0]:
            return path
    return None


def feedback_table(rows: list[FeedbackRow]) -> str:
    """Mean over seeds per category and number of feedbacks asked."""
    lines = ["| category | shots | feedbacks asked | given (mean) | false reject | escape |", "|---|---|---|---|---|---|"]
    groups: dict[tuple[str, int, int], list[FeedbackRow]] = {}
    for row in rows:
        groups.setdefault((row.category, row.shots, row.asked), []).append(row)
    for (category, shots, asked), runs in groups.items():
        lines.append(f"| {category} | {shots} | {asked} | {np.mean([r.feedbacks for r in runs]):.1f} | "
                     f"{np.mean([r.false_reject_rate for r in runs]):.3f} | {np.mean([r.escape_rate for r in runs]):.3f} |")
    return "\n".join(lines)
