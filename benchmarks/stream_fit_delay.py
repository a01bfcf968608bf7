"""Does a stream-learning fit delay verdicts? Per-frame inspect latency alone and beside a running fit.

    OMP_NUM_THREADS=1 python benchmarks/stream_fit_delay.py

The bank is fitted from 4 goldens; the stream sample is 50 train/good frames' features. Then the test
frames are inspected one at a time, first alone (``--passes`` passes), then over and over while a thread at
nice 19 (as the daemon's learner runs) fits one candidate, from its start to its end; prints median and
95th-percentile latency of both and their ratio, with the machine's load average (the ratio is the figure;
absolute times move with the load).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.threads import cooperate
from inspectd.detector import AugmentationSet, Detector, DetectorSettings, fit_bank
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate
from inspectd.images import image_files, read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DATA)
    parser.add_argument("--frames", type=int, default=20, help="test/good frames used")
    parser.add_argument("--passes", type=int, default=10, help="passes over them timed alone, before the fit")
    parser.add_argument("--rotations", type=int, default=4, help="rotated copies per golden (setup speed only)")
    options = parser.parse_args()
    cooperate(1)
    settings = replace(DetectorSettings(), augmentations=replace(AugmentationSet(), rotations=options.rotations))
    train = image_files(options.images / "train" / "good")
    bank = fit_bank([read_rgb(path) for path in train[:4]], settings)
    detector = Detector(bank)
    stream = [read_rgb(path) for path in train[4:54]]
    features = np.concatenate([detector.embedded_features(detector.input_frames([image]), {}) for image in stream])
    sample = StreamSample(features, [str(i) for i in range(len(stream))], np.ones(len(stream), bool))
    tests = [read_rgb(path) for path in image_files(options.images / "test" / "good")][:options.frames]
    print(f"setup done: bank {len(bank.memory)} rows, {len(stream)} stream frames, load {os.getloadavg()}")

    fits = []

    def learner() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        started = time.perf_counter()
        fit_stream_candidate(bank, sample, StreamRule())
        fits.append(time.perf_counter() - started)

    def timed(images: list[np.ndarray]) -> list[float]:
        times = []
        for image in images:
            started = time.perf_counter()
            detector.inspect([image])
            times.append((time.perf_counter() - started) * 1000.0)
        return times

    detector.inspect(tests[:1])  # warm-up
    alone = timed(tests * options.passes)
    thread = threading.Thread(target=learner, daemon=True)
    thread.start()
    beside = []
    while thread.is_alive():  # every stage of the fit, start to end
        beside += timed(tests)
    for name, times in (("alone", alone), ("beside a fit", beside)):
        print(f"{name:>13}: {len(times)} frames, median {np.median(times):7.1f} ms, "
              f"p95 {np.percentile(times, 95):7.1f} ms")
    print(f"ratio beside/alone: median {np.median(beside) / np.median(alone):.2f}, "
          f"p95 {np.percentile(beside, 95) / np.percentile(alone, 95):.2f}; the fit took {fits[0]:.1f} s; "
          f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
