"""Operator feedback on a frame: a good frame joins the product's bank as a new bank version.

A frame marked good (a false reject) is featurized with the bank's own augmentation set, and the patches
of its copies that the bank covers worst (one golden image's share of the memory) join it. The memory
stays bounded: when it outgrows ``MEMORY_GROWTH`` times its size at fit time, the union is reduced by
greedy k-center again. The threshold is recalibrated by scoring the goldens' hold-out features again,
each against the grown bank without its own group's rows, and scaling the threshold by the median factor
by which those scores fell: the typical good part's drop, not the drop of whichever golden set the maximum
(taking their maximum again left the 4-shot false-reject rate where it was; docs/calibration.md). The
frame's own score is not a hold-out score: it was picked for scoring above the threshold, and raising the
threshold to it lets defects through (docs/calibration.md). A frame marked defective never enters the
bank: it is kept for reports.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from inspectd.detector.bank import Bank, BankError, BankStore, load_bank, validate_product
from inspectd.detector.calibration import leave_one_group_out_scores
from inspectd.detector.coreset import greedy_coreset
from inspectd.detector.detector import Detector
from inspectd.detector.fit import image_featurizer
from inspectd.detector.presence import presence_calibration

Label = Literal["good", "defective"]
MEMORY_GROWTH = 2  # the memory may grow to this many times its size at fit time
FEEDBACK_DIR = "feedback"  # <banks>/<product>/feedback/<label>/<sha256>.png + .json


@dataclass(frozen=True)
class FeedbackReport:
    product: str
    label: Label
    frame_sha256: str
    frame_score: float  # the frame's score against the bank serving when the feedback came
    version_dir: Path | None  # the new bank version (None for a defective frame)
    old_threshold: float
    new_threshold: float
    memory_rows: int
    frame_id: str | None = None  # the archived frame's id (or the image file's stem) the operator named

    def summary(self) -> str:
        frame = f"frame {self.frame_id}" if self.frame_id else f"image with pixels sha256 {self.frame_sha256[:12]}"
        if self.version_dir is None:
            return (f"{self.product}: {frame} kept as defective (score "
                    f"{self.frame_score:.4f}, threshold {self.old_threshold:.4f}); the bank is unchanged")
        return (f"{self.product}: {frame} (score {self.frame_score:.4f}) joined the bank as "
                f"{self.version_dir}: threshold {self.old_threshold:.4f} -> {self.new_threshold:.4f}, "
                f"memory {self.memory_rows} rows")


def image_sha256(image: np.ndarray) -> str:
    """sha256 of the decoded pixels (the same digest the manifest keeps for golden images)."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def add_good_frame(bank: Bank, image: np.ndarray) -> tuple[Bank, float]:
    """The bank with ``image`` (RGB uint8, marked good) added, and the frame's score against ``bank``."""
    detector = Detector(bank)
    copies = image_featurizer(detector.input_frames([image]), bank.settings, detector.backbone)(0,
                                                                                            bank.settings.augmentations)
    return add_good_copies(bank, detector, copies, image_sha256(image))


def add_good_copies(bank: Bank, detector: Detector, copies: np.ndarray, frame_sha256: str) -> tuple[Bank, float]:
    """The bank with a good frame's embedded copies [n, h, w, D] (the frame itself first) added, and the
    frame's score against ``bank`` (``detector`` serves ``bank``)."""
    if bank.holdout_features is None:
        raise BankError(f"bank {bank.version or '(in memory)'} has no stored hold-out features (bank format 1): "
                        "feedback cannot recalibrate its threshold; refit the product (inspectd refit) first")
    frame_score = float(detector.score_maps(copies[:1], {})[0][0])
    manifest = json.loads(json.dumps(bank.manifest))  # deep copy, JSON types only
    feedback = manifest.setdefault("feedback", {"fit_coreset": len(bank.memory), "frames": []})
    frame_rows = copies.reshape(-1, copies.shape[-1])
    share = min(len(frame_rows), max(1, feedback["fit_coreset"] // manifest["counts"]["images"]))
    missed = np.argsort(-detector.index.patch_scores(copies).ravel(), kind="stable")[:share]
    memory = np.concatenate([bank.memory, frame_rows[missed]])  # the patches the bank covers worst
    frame_group = len(bank.holdout_features) + len(feedback["frames"])  # never held out
    row_groups = np.concatenate([bank.row_groups, np.full(share, frame_group, np.int32)])
    seed = bank.settings.seed + len(feedback["frames"]) + 1
    limit = MEMORY_GROWTH * feedback["fit_coreset"]
    if len(memory) > limit:
        kept = greedy_coreset(memory, limit, seed)
        memory, row_groups = memory[kept], row_groups[kept]
    memory = np.ascontiguousarray(memory, dtype=np.float32)
    holdout_scores = leave_one_group_out_scores(memory, row_groups, bank.holdout_features, bank.settings,
                                                detector.input_shape)
    feedback["frames"].append({"sha256": frame_sha256, "from_version": bank.version, "score": round(frame_score, 6),
                               "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    feedback["max_memory"] = limit
    manifest["calibration"] = {**manifest["calibration"], "holdout_scores": [round(float(x), 6) for x in holdout_scores],
                               "against": f"bank after {len(feedback['frames'])} feedback frame(s)",
                               "expected_false_reject": None}  # the fit's estimate; feedback moves it
    manifest["threshold"] = recalibrated_threshold(bank, holdout_scores)
    if "presence" in manifest:  # the goldens' rows may have been thinned by the coreset above
        manifest["presence"] = presence_calibration(memory, row_groups, bank.holdout_features)
    manifest["memory_shape"] = list(memory.shape)
    manifest["counts"] = {**manifest["counts"], "coreset": len(memory), "feedback_frames": len(feedback["frames"])}
    return Bank(memory=memory, manifest=manifest, row_groups=row_groups,
                holdout_features=bank.holdout_features, layout_features=bank.layout_features), frame_score


def recalibrated_threshold(bank: Bank, holdout_scores: np.ndarray) -> float:
    """``bank``'s threshold scaled by the median ratio of the goldens' hold-out scores against the grown bank
    (``holdout_scores``) to those the bank's manifest holds."""
    before = np.maximum(np.asarray(bank.manifest["calibration"]["holdout_scores"], dtype=np.float64), 1e-12)
    return float(bank.threshold * np.median(np.asarray(holdout_scores, dtype=np.float64) / before))


def submit_feedback(banks_dir: Path, product: str, image: np.ndarray, label: Label,
                    frame_id: str | None = None) -> FeedbackReport:
    """Apply an operator's verdict on a frame to the product's latest bank; keep the frame for reports."""
    store = BankStore(banks_dir)
    latest = store.latest(validate_product(product))
    if latest is None:
        raise FileNotFoundError(f"product {product!r} has no bank under {banks_dir}; run inspectd refit first")
    bank = load_bank(latest)
    if label == "good":
        new_bank, score = add_good_frame(bank, image)
        version_dir: Path | None = store.write(product, new_bank)
        new_threshold, rows = new_bank.threshold, len(new_bank.memory)
    else:
        score = float(Detector(bank).inspect([image])[0].image_score)
        version_dir, new_threshold, rows = None, bank.threshold, len(bank.memory)
    report = FeedbackReport(product, label, image_sha256(image), score, version_dir, bank.threshold,
                            new_threshold, rows, frame_id)
    _keep_frame(store.product_dir(product) / FEEDBACK_DIR / label, image, report, frame_id, bank.version)
    return report


def _keep_frame(folder: Path, image: np.ndarray, report: FeedbackReport, frame_id: str | None,
                bank_version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / report.frame_sha256
    cv2.imwrite(str(stem.with_suffix(".png")), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    record = {"frame_id": frame_id, "label": report.label, "sha256": report.frame_sha256,
              "score": report.frame_score, "bank_version": bank_version,
              "new_version": report.version_dir.name if report.version_dir else None,
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2))
