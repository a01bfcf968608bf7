"""Does a stream-learning fit delay verdicts? Per-frame inspect latency alone and beside a running fit.

    OMP_NUM_THREADS=1 python benchmarks/stream_fit_delay.py --frames 24

The bank is fitted from 4 goldens; the stream sample is 50 train/good frames' features. Then the test
frames are inspected one at a time, alone and while a thread at nice 19 (as the daemon's learner
runs) fits candidates in a loop (alone: the first half before, the second half after); prints median and 95th-percentile latency of both and their ratio, with the
machine's load average (the ratio is the figure; absolute times move with the load).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.bench.command import set_threads
from inspectd.detector import AugmentationSet, Detector, DetectorSettings, fit_bank
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate
from inspectd.images import image_files, read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DATA)
    parser.add_argument("--frames", type=int, default=24, help="test frames timed in each condition")
    parser.add_argument("--rotations", type=int, default=4, help="rotated copies per golden (setup speed only)")
    options = parser.parse_args()
    set_threads(1)
    settings = replace(DetectorSettings(), augmentations=replace(AugmentationSet(), rotations=options.rotations))
    train = image_files(options.images / "train" / "good")
    bank = fit_bank([read_rgb(path) for path in train[:4]], settings)
    detector = Detector(bank)
    stream = [read_rgb(path) for path in train[4:54]]
    features = np.concatenate([detector.embedded_features(detector.input_frames([image]), {}) for image in stream])
    sample = StreamSample(features, [str(i) for i in range(len(stream))], np.ones(len(stream), bool))
    tests = [read_rgb(path) for path in image_files(options.images / "test" / "good")][:options.frames]
    print(f"setup done: bank {len(bank.memory)} rows, {len(stream)} stream frames, load {os.getloadavg()}")

    stop = threading.Event()
    fits = []

    def learner() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        while not stop.is_set():
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
    half = len(tests) // 2
    alone = timed(tests[:half])
    thread = threading.Thread(target=learner, daemon=True)
    thread.start()
    time.sleep(1.0)  # the fit is under way
    beside = timed(tests)
    stop.set()
    thread.join()  # the fit in progress ends
    alone += timed(tests[half:])
    for name, times in (("alone", alone), ("beside a fit", beside)):
        print(f"{name:>13}: median {np.median(times):7.1f} ms, p95 {np.percentile(times, 95):7.1f} ms")
    print(f"ratio beside/alone: median {np.median(beside) / np.median(alone):.2f}, "
          f"p95 {np.percentile(beside, 95) / np.percentile(alone, 95):.2f}; fits finished {len(fits)} "
          f"(median {np.median(fits) if fits else float('nan'):.1f} s); load {os.getloadavg()}")


if __name__ == "__main__":
    main()
