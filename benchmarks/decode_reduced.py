"""Full vs reduced-size JPEG decode (docs/performance.md, "Reduced-size JPEG decode"), and the score check.

    OMP_NUM_THREADS=1 python benchmarks/decode_reduced.py --repeats 30

Frames: a real MVTec bottle (512 px JPEG) upscaled with cubic interpolation to each camera size and
encoded as JPEG (quality 95): the pixels are smooth, as a camera's are not, but libjpeg's work per pixel
does not depend on them much. Each timing is decode (the daemon's decode_image) + the resize to the
detector's input shape (320 px), median of ``repeats``, one OpenCV thread. ``min_side`` is what the
daemon derives for the default products (heatmap max_size 512). The score check fits a default bank
(320 px, 24 rotations) on 4 good bottles and scores the test bottles sent at 2448 x 2048 both
ways.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from inspectd.daemon.decode import DecodedImage, decode_image
from inspectd.detector import Detector, DetectorSettings, fit_bank
from inspectd.detector.features import input_shape, resize_to
from inspectd.evaluation.metrics import auroc
from inspectd.images import read_rgb

BOTTLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle"
SIZES = ((900, 900), (2448, 2048), (4000, 3000))  # (width, height)
MIN_SIDE = 512
INPUT_SIZE = DetectorSettings().input_size
MAX_PIXELS = 50_000_000


def camera_jpeg(image_rgb: np.ndarray, size: tuple[int, int]) -> bytes:
    """The image upscaled to ``size`` (width, height), as a camera's JPEG."""
    frame = cv2.resize(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def decode_and_resize_ms(jpeg: bytes, min_side: int | None) -> tuple[float, float, DecodedImage]:
    """Milliseconds of decode alone and of decode + resize to the detector input, and the decoded image."""
    started = time.perf_counter()
    decoded = decode_image(jpeg, MAX_PIXELS, min_side)
    decoded_at = time.perf_counter()
    width, height = decoded.frame_size
    resize_to(decoded.image, input_shape(height, width, INPUT_SIZE))
    finished = time.perf_counter()
    return (decoded_at - started) * 1000.0, (finished - started) * 1000.0, decoded


def timing_table(image_rgb: np.ndarray, repeats: int) -> None:
    """Full and reduced decode of each frame size, alternating (so load on the machine hits both alike),
    after one warm-up each; medians."""
    print(f"decode (+ resize to the {INPUT_SIZE} px input), median of {repeats}, min_side {MIN_SIDE}")
    print(f"{'frame':>11} {'JPEG kB':>8} {'reduced to':>15} {'full ms':>8} {'reduced ms':>11} {'ratio':>6} "
          f"{'full+resize':>12} {'reduced+resize':>15} {'ratio':>6}")
    for size in SIZES:
        jpeg = camera_jpeg(image_rgb, size)
        runs: dict[int | None, list[tuple[float, float]]] = {None: [], MIN_SIDE: []}
        for repeat in range(repeats + 1):
            for side, timings in runs.items():
                decode_ms, total_ms, decoded = decode_and_resize_ms(jpeg, side)
                if repeat:
                    timings.append((decode_ms, total_ms))
        (full_decode, full_total), (reduced_decode, reduced_total) = (
            (statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings))
            for timings in runs.values())
        height, width = decoded.image.shape[:2]  # the last, reduced decode
        print(f"{size[0]:>5}x{size[1]:<5} {len(jpeg) / 1000:>8.0f} {f'1/{decoded.reduction}: {width}x{height}':>15} "
              f"{full_decode:>8.1f} {reduced_decode:>11.1f} {full_decode / reduced_decode:>5.1f}x "
              f"{full_total:>12.1f} {reduced_total:>15.1f} {full_total / reduced_total:>5.1f}x")


def score_check(count: int) -> None:
    """Image scores (and bottle image AUROC) of test frames at 2448 x 2048, decoded full vs reduced."""
    goldens = [read_rgb(p) for p in sorted((BOTTLE / "train" / "good").glob("*.*"))[:4]]
    detector = Detector(fit_bank(goldens, DetectorSettings()))
    tests = sorted((BOTTLE / "test").glob("*/*.*"))
    picked = tests[:: max(1, len(tests) // count)][:count] if count else tests
    scores = np.array([[detector.inspect([decode_image(jpeg, MAX_PIXELS, side).image])[0].image_score
                        for side in (None, MIN_SIDE)]
                       for jpeg in (camera_jpeg(read_rgb(path), SIZES[1]) for path in picked)])
    difference = np.abs(scores[:, 0] - scores[:, 1])
    print(f"image score |full - reduced| over {len(picked)} test bottles at {SIZES[1][0]}x{SIZES[1][1]}: "
          f"max {difference.max():.3f} ({(difference / scores[:, 0]).max():.2%} of the score), "
          f"mean {difference.mean():.3f}; bank threshold {detector.threshold:.2f}, verdicts that differ: "
          f"{int(((scores > detector.threshold)[:, 0] != (scores > detector.threshold)[:, 1]).sum())}")
    labels = np.array([path.parent.name != "good" for path in picked])
    if labels.all() or not labels.any():
        return
    full, reduced = (auroc(scores[:, column], labels) for column in (0, 1))
    print(f"image AUROC: full {full:.4f}, reduced {reduced:.4f} (difference {reduced - full:+.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--score-images", type=int, default=0, help="test bottles scored both ways; 0: all")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    timing_table(read_rgb(sorted((BOTTLE / "test" / "broken_large").glob("*.*"))[0]), args.repeats)
    score_check(args.score_images)


if __name__ == "__main__":
    main()
