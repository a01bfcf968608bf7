"""What the operator console costs the detector: the daemon's sustained frames/s with the console on and a
client following it, against the same daemon without the console, measured in one run.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/console_cost.py --size 224 --rotations 8 --frames 200 --rounds 2

The daemon pipeline is benchmarks/daemon_rate.py's (mosquitto on loopback, bottle test JPEGs over MQTT
as fast as the broker takes them, every result awaited). The client is a separate process that does what
the page does (benchmarks/console_follower.py): it follows the live stream and fetches the newest overlay.
Rounds alternate without / with, so drifting load from other processes falls on both; the ratio is of
the medians. Prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_follower import start_followers, stop_followers  # noqa: E402
from inspectd.config.logs import LoggingConfig  # noqa: E402
from inspectd.daemon.logs import configure_logging  # noqa: E402
from inspectd.detector import AugmentationSet, BankStore, DetectorSettings, fit_bank  # noqa: E402
from inspectd.images import image_files, read_rgb  # noqa: E402
from support.broker import start_mosquitto, stop_process  # noqa: E402
from support.throughput import measure_throughput  # noqa: E402

DATA = Path(os.environ.get("INSPECTD_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
BOTTLE = DATA / "mvtec_ad" / "bottle"


@contextlib.contextmanager
def console_client(daemon) -> Iterator[None]:
    followers = start_followers(daemon.console.url, 1)
    try:
        yield
    finally:
        console_client.last = stop_followers(followers)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rotations", type=int, default=8)
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs (without, with)")
    args = parser.parse_args()
    configure_logging(LoggingConfig(level="error", json=False))  # stdout carries the JSON report
    goldens = [read_rgb(path) for path in image_files(BOTTLE / "train" / "good")[:args.shots]]
    frames = [path.read_bytes() for path in sorted((BOTTLE / "test").glob("*/*.jpg"))]
    settings = DetectorSettings(input_size=args.size, augmentations=AugmentationSet(rotations=args.rotations))
    rates: dict[str, list[float]] = {"without": [], "with": []}
    clients = []
    with tempfile.TemporaryDirectory() as workdir:
        banks = Path(workdir) / "banks"
        BankStore(banks).write("bottle", fit_bank(goldens, settings))
        broker_process, broker = start_mosquitto(Path(workdir))
        try:
            for round_number in range(args.rounds):
                for condition in ("without", "with"):
                    on = condition == "with"
                    report = measure_throughput(broker, banks, frames, args.frames, paced=2,
                                                sections={"console": {"enabled": True, "port": 0}} if on else None,
                                                attach=console_client if on else None)
                    rates[condition].append(report["frames_per_s"])
                    clients += [console_client.last] if on else []
                    print(f"round {round_number + 1} {condition} console: {report['frames_per_s']} frames/s",
                          file=sys.stderr, flush=True)
        finally:
            stop_process(broker_process)
    without, with_console = statistics.median(rates["without"]), statistics.median(rates["with"])
    print(json.dumps({"size": args.size, "rotations": args.rotations, "shots": args.shots, "frames": args.frames,
                      "frames_per_s": rates, "ratio_with_to_without": round(with_console / without, 3),
                      "client": clients}, indent=2))


if __name__ == "__main__":
    main()
