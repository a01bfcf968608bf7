"""How far a crop round the part could zoom in: the outline's (detector/part_outline.py) minimum enclosing
circle on each golden and test frame, against the frame's shorter side (docs/results.md, "Cropping to the
part").

    python benchmarks/part_extent.py --categories mvtec_ad/screw,visa/fryum --shots 4 --seed 0

A crop that holds the part at every angle its copies are turned to is a square of the circle's diameter; a
crop-and-zoom raises the part's resolution by the shorter side over that diameter at the same backbone cost.
Prints one JSON line per category: the outline's golden share, and the zoom's minimum and median over the
goldens and over the test frames (null where no outline is fitted).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from inspectd.detector.features import input_shape, resize_to
from inspectd.detector.part_outline import PartOutline, fit_outline
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def zooms(outline: PartOutline, frames: np.ndarray) -> np.ndarray:
    """[B] shorter side of each frame over its outline's enclosing-circle diameter."""
    diameters = [2.0 * cv2.minEnclosingCircle(cv2.findNonZero(inside.astype(np.uint8)))[1]
                 for inside in outline.outlines(frames)]
    return min(frames.shape[1:3]) / np.array(diameters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", required=True, help="comma-separated, relative to ../shared/data")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = DetectorSettings()
    for name in args.categories.split(","):
        category = load_category(DATA / name)
        indices = draw_shots(len(category.train_files), args.shots, args.seed)
        goldens = [read_rgb(category.train_files[i]) for i in indices]
        shape = input_shape(*goldens[0].shape[:2], settings.input_size, settings.keep_aspect)
        golden_frames = np.stack([resize_to(image, shape) for image in goldens])
        test_frames = np.stack([resize_to(image, shape) for image in category.test_images])
        outline = fit_outline(golden_frames)
        row: dict = {"category": name, "shots": args.shots, "seed": args.seed, "golden_share": None,
                     "golden_zoom": None, "test_zoom": None}
        if outline is not None:
            golden_zoom, test_zoom = zooms(outline, golden_frames), zooms(outline, test_frames)
            row.update(golden_share=round(outline.golden_share, 3),
                       golden_zoom=[round(float(golden_zoom.min()), 2), round(float(np.median(golden_zoom)), 2)],
                       test_zoom=[round(float(test_zoom.min()), 2), round(float(np.median(test_zoom)), 2)])
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
