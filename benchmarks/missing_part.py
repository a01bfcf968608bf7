"""Does the detector fail a frame whose part is missing? Empty frames made from real goods' background.

    OMP_NUM_THREADS=1 python benchmarks/missing_part.py [--category mvtec_ad/screw] [--shots 4] [--frames 5]

Each empty frame is the good frame's flattest corner (a square of a quarter of its shorter side; the
corner whose grey levels vary least, i.e. background) mirrored out to the whole frame, so it has the
background's own texture and no seams: what the camera would see with the fixture or belt empty. The
default detector's bank (K goldens, seed 0) scores those empty frames beside the same goods with their
part. It prints the scores and the bank's threshold, the presence check's verdicts (detector/presence.py)
and, for all bank rows and all patches, the statistic that check samples: each bank row's distance to
its nearest patch in the frame, summarised by quantiles over the rows (high when much of what the
goldens show is absent), for the goldens' hold-out images (each against the other goldens' rows, as the
threshold is calibrated), the goods with their part and the empty frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_bank
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def background_only(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    side = min(height, width) // 4
    corners = [image[:side, :side], image[:side, -side:], image[-side:, :side], image[-side:, -side:]]
    flattest = min(corners, key=lambda c: float(cv2.cvtColor(c, cv2.COLOR_RGB2GRAY).std()))
    tile = np.concatenate([np.concatenate([flattest, flattest[:, ::-1]], 1),
                           np.concatenate([flattest[::-1], flattest[::-1, ::-1]], 1)], 0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


REVERSE_QUANTILES = (0.5, 0.75, 0.9)


def reverse_coverage(memory: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Quantiles over the bank rows of each row's distance to its nearest patch of the frame [h, w, D]."""
    rows, patches = torch.from_numpy(memory), torch.from_numpy(features.reshape(-1, features.shape[-1]))
    nearest = torch.cdist(rows, patches).min(dim=1).values.numpy()
    return np.quantile(nearest, REVERSE_QUANTILES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="mvtec_ad/screw")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--save", type=Path, default=None, help="folder to write the empty frames to")
    args = parser.parse_args()
    category = load_category(args.data / args.category)
    goldens = [read_rgb(category.train_files[i]) for i in draw_shots(len(category.train_files), args.shots, 0)]
    detector = Detector(fit_bank(goldens))
    goods = [image for image, label in zip(category.test_images, category.test_labels) if label == 0][:args.frames]
    empty = [background_only(image) for image in goods]
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(empty):
            cv2.imwrite(str(args.save / f"empty_{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    print(f"{args.category}, {args.shots} goldens: threshold {detector.threshold:.3f}, presence threshold "
          f"{detector.presence.threshold:.3f}")
    for label, frames in (("good with its part", goods), ("part missing", empty)):
        inspections = detector.inspect(frames)
        print(f"{label + ':':20s}", " ".join(f"{i.image_score:.3f}" for i in inspections),
              f"-> score above threshold {sum(i.image_score > detector.threshold for i in inspections)}, "
              f"presence failed {sum(i.part_missing for i in inspections)}, "
              f"verdict fail {sum(i.is_defective for i in inspections)} of {len(inspections)}")
    bank = detector.bank
    print(f"reverse coverage, quantiles {REVERSE_QUANTILES} of the bank rows' distance to the frame:")
    for group, held_out in enumerate(bank.holdout_features):
        print(f"  golden {group} held out:", np.round(reverse_coverage(bank.memory[bank.row_groups != group], held_out), 3))
    for label, frames in (("good with its part", goods), ("part missing", empty)):
        for features in detector.embedded_features(detector.input_frames(frames), {}):
            print(f"  {label}:", np.round(reverse_coverage(bank.memory, features), 3))


if __name__ == "__main__":
    main()
