"""Threshold rules after simulated operator feedback, compared on the same banks and pools (issue 7).

    OMP_NUM_THREADS=1 python benchmarks/feedback_rules.py mvtec_ad/bottle,visa/fryum 4 0,1,2 OUT.json [RULES]
    python benchmarks/feedback_rules.py --tables OUT.json [OUT2.json ...]

Each seed's bank is fitted once; every rule then runs the simulation of ``inspectd eval --feedback``
(inspectd/evaluation/feedback_eval.py) from it. Rules, given the bank before and after a frame joined:
  raise_to_frame: max(threshold before, the frame's score against the bank before it): the old rule
  unchanged: the threshold before
  holdout_regrown: the maximum of the goldens' hold-out scores against the grown bank (shipped until 2026-11-30)
  + frame_copy: also each fed-back frame's own image against the grown bank without the rows its
    unrotated copy added (it keeps the rows its rotated copies added)
  + frame_out: also each fed-back frame against the grown bank without any of its rows
  holdout_median_ratio: the threshold before times the median ratio of the goldens' hold-out scores
    against the grown bank to those against the bank before (what add_good_copies does)
Writes every row to OUT.json; prints the mean false-reject / escape per rule and step, and the
``inspectd eval --feedback`` table of the shipped rule (docs/calibration.md).
"""
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inspectd.detector.bank import Bank
from inspectd.detector.calibration import leave_one_group_out_scores, threshold_from_scores
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.feedback_eval import (FEEDBACK_STEPS, FeedbackRow, feedback_table, fit_seed, prepared_runs,
                                               simulate_feedback)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class FrameScores:
    """holdout_regrown plus each fed-back frame's score against the grown bank without some of its rows."""

    def __init__(self, unrotated_rows_only: bool) -> None:
        self.unrotated_rows_only = unrotated_rows_only
        self.frames: list[tuple[np.ndarray, int, set[bytes]]] = []

    def __call__(self, before: Bank, after: Bank, copies: np.ndarray) -> float:
        group = len(after.holdout_features) + len(self.frames)
        self.frames.append((copies[:1], group, {row.tobytes() for row in copies[0].reshape(-1, copies.shape[-1])}))
        scores = [regrown_maximum(before, after, copies)]
        for features, frame_group, unrotated in self.frames:
            left_out = after.row_groups == frame_group
            if self.unrotated_rows_only:
                left_out &= np.array([row.tobytes() in unrotated for row in after.memory])
            scores += list(leave_one_group_out_scores(after.memory, np.where(left_out, 0, -1), features,
                                                      after.settings, tuple(after.manifest["input_shape"])))
        return threshold_from_scores(np.array(scores), after.settings.target_false_reject)


def regrown_maximum(before: Bank, after: Bank, copies: np.ndarray) -> float:
    """The threshold rule of a fit applied to the goldens' hold-out scores against the grown bank."""
    scores = np.array(after.manifest["calibration"]["holdout_scores"])
    return threshold_from_scores(scores, after.settings.target_false_reject)


SHIPPED = "holdout_median_ratio"
RULES = {
    "raise_to_frame": lambda: lambda before, after, copies: max(before.threshold,
                                                                after.manifest["feedback"]["frames"][-1]["score"]),
    "unchanged": lambda: lambda before, after, copies: before.threshold,
    "holdout_regrown": lambda: regrown_maximum,
    "holdout_regrown+frame_copy": lambda: FrameScores(unrotated_rows_only=True),
    "holdout_regrown+frame_out": lambda: FrameScores(unrotated_rows_only=False),
    SHIPPED: lambda: None,
}


def main() -> None:
    if sys.argv[1] == "--tables":
        print_tables([row for path in sys.argv[2:] for row in json.loads(Path(path).read_text())])
        return
    categories, shots, seeds, out = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3].split(","), Path(sys.argv[4])
    rules = sys.argv[5].split(",") if len(sys.argv) > 5 else list(RULES)
    rows = []
    for name in categories:
        started = time.time()
        for run, draws in prepared_runs(DATA / name, [shots], list(map(int, seeds)), DetectorSettings()):
            for seed in (draw.seed for draw in draws):
                bank, pool = fit_seed(run, shots, seed)
                for rule in rules:
                    rows += [{"rule": rule, **asdict(row)} for row in
                             simulate_feedback(run, bank, pool, shots, seed, RULES[rule]())]
        print(f"{name}: {time.time() - started:.0f} s", flush=True)
        out.write_text(json.dumps(rows, indent=1))
    print_tables(rows)


def print_tables(rows: list[dict]) -> None:
    print(summary(rows))
    print(feedback_table([FeedbackRow(**{k: v for k, v in r.items() if k != "rule"}) for r in rows
                          if r["rule"] == SHIPPED]))


def summary(rows: list[dict]) -> str:
    lines = ["| rule | category | " + " | ".join(f"{s} fr / esc" for s in FEEDBACK_STEPS) + " |"]
    for rule in dict.fromkeys(r["rule"] for r in rows):
        for category in [*dict.fromkeys(r["category"] for r in rows), "mean"]:
            cells = []
            for i, _ in enumerate(FEEDBACK_STEPS):
                picked = [r for r in rows if r["rule"] == rule and category in ("mean", r["category"])]
                picked = picked[i::len(FEEDBACK_STEPS)]
                cells.append(f"{np.mean([r['false_reject_rate'] for r in picked]):.3f} / "
                             f"{np.mean([r['escape_rate'] for r in picked]):.3f}")
            lines.append(f"| {rule} | {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
