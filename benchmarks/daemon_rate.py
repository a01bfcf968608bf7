"""Sustained frames/s of the real daemon (MQTT in, result + heatmap out) at issue 5's configuration.

    OMP_NUM_THREADS=1 python benchmarks/daemon_rate.py --size 224 --rotations 8 --shots 4 --frames 400

A mosquitto broker on a free loopback port, an in-process daemon serving one product whose bank is
fitted from the first K bottle train/good images, a burst of the bottle test JPEGs (512 px) published
as fast as the broker takes them; prints frames/s over the burst, the mean batch, the mean per-stage
latency the results report, and the latency of a paced run below capacity. Unlike ``inspectd bench``
(one thread doing every stage in turn), this is the daemon's own pipeline: decode in the MQTT source,
inspection in the product's worker, heatmap and publishing in the dispatcher, in parallel.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from inspectd.detector import AugmentationSet, BankStore, DetectorSettings, fit_bank  # noqa: E402
from inspectd.images import image_files, read_rgb  # noqa: E402
from support.broker import start_mosquitto, stop_process  # noqa: E402
from support.throughput import measure_throughput  # noqa: E402

BOTTLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rotations", type=int, default=8)
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--max-batch", type=int, default=8, help="the product's max_batch")
    parser.add_argument("--heatmap-size", type=int, default=512, help="the product's heatmap max_size")
    args = parser.parse_args()
    goldens = [read_rgb(path) for path in image_files(BOTTLE / "train" / "good")[:args.shots]]
    frames = [path.read_bytes() for path in sorted((BOTTLE / "test").glob("*/*.jpg"))]
    settings = DetectorSettings(input_size=args.size, augmentations=AugmentationSet(rotations=args.rotations))
    with tempfile.TemporaryDirectory() as workdir:
        BankStore(Path(workdir) / "banks").write("bottle", fit_bank(goldens, settings))
        broker_process, broker = start_mosquitto(Path(workdir))
        try:
            report = measure_throughput(broker, Path(workdir) / "banks", frames, args.frames,
                                        product={"max_batch": args.max_batch,
                                                 "heatmap": {"max_size": args.heatmap_size}})
        finally:
            stop_process(broker_process)
    print(json.dumps({"size": args.size, "rotations": args.rotations, "shots": args.shots,
                      "max_batch": args.max_batch,
                      "heatmap_size": args.heatmap_size, "torch_threads": torch.get_num_threads(), **report}, indent=2))


if __name__ == "__main__":
    main()
