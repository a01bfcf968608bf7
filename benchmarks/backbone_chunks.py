"""Backbone time per frame for a batch of 8 frames run whole or in chunks (the float32 frozen graph).

    OMP_NUM_THREADS=1 python benchmarks/backbone_chunks.py

Real frames (MVTec AD bottle, good test images) at 224 and 320 px, one thread, median of 9 calls per
cell, milliseconds per frame; chunks run one after the other. Alternating the cells within one run keeps
the comparison fair on a shared machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from inspectd.detector.backbone import get_backbone
from inspectd.detector.features import resize_to, to_batch
from inspectd.images import image_files, read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHUNKS = (1, 2, 4, 8)
FRAMES = 8
REPEATS = 9


def main() -> None:
    torch.set_num_threads(1)
    backbone = get_backbone("efficientnet_lite0")
    images = [read_rgb(path) for path in image_files(DATA / "mvtec_ad" / "bottle" / "test" / "good")[:FRAMES]]
    for size in (224, 320):
        batch = to_batch([resize_to(image, (size, size)) for image in images], backbone)
        times: dict[int, list[float]] = {chunk: [] for chunk in CHUNKS}
        for _ in range(REPEATS + 1):  # the first round warms the graph up for each chunk shape
            for chunk in CHUNKS:
                started = time.perf_counter()
                for first in range(0, FRAMES, chunk):
                    backbone(batch[first:first + chunk])
                times[chunk].append((time.perf_counter() - started) * 1000.0 / FRAMES)
        whole = float(np.median(times[FRAMES][1:]))
        cells = [f"chunk {c}: {np.median(times[c][1:]):.2f} ms ({whole / np.median(times[c][1:]):.2f}x)"
                 for c in CHUNKS]
        print(f"{size} px, ms per frame (x = speed against one batch of {FRAMES}): " + ", ".join(cells))


if __name__ == "__main__":
    main()
