"""Soak: one daemon, one product, parts streamed over MQTT at a steady rate for a set time.

Prints the daemon's RSS, threads and open files over time and checks that every part was answered:
    .venv/bin/python benchmarks/soak.py --minutes 30 --fps 10        # the long run (issue 6)
    .venv/bin/python benchmarks/soak.py --minutes 10 --fps 10 --console-clients 10   # with the console followed
CI runs a 20-second version through tests/test_soak.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_follower import start_followers, stop_followers  # noqa: E402
from support.banks import fit_tiny_bank, write_bank  # noqa: E402
from support.broker import start_mosquitto, stop_process  # noqa: E402
from support.daemon import DaemonProcess  # noqa: E402
from support.images import encode, json_part, part_images  # noqa: E402
from support.line import IMAGE_TOPIC, PRODUCT, accounted, line_config  # noqa: E402
from support.mqtt_client import LineClient  # noqa: E402
from support.process_stats import ProcessSample, sample  # noqa: E402


@dataclass(frozen=True)
class SoakReport:
    sent: int
    answered: int
    counts: dict[str, float]
    samples: list[ProcessSample]
    console_clients: list[dict]
    """What each console follower counted (updates streamed, overlays fetched)."""

    def growth(self, warm_up_share: float = 0.25) -> dict[str, float]:
        """Change of each resource from the end of the warm-up to the end of the run."""
        start = self.samples[int(len(self.samples) * warm_up_share)]
        end = self.samples[-1]
        return {"rss_mib": end.rss_mib - start.rss_mib, "threads": end.threads - start.threads,
                "open_fds": end.open_fds - start.open_fds}


def run_soak(seconds: float, fps: float, data_root: Path, workdir: Path, sample_every_s: float = 2.0,
             echo: bool = True, console_clients: int = 0) -> SoakReport:
    """``console_clients``: with the operator console on, that many page-like followers for the whole run."""
    images = part_images(data_root, 8)
    write_bank(workdir / "banks", PRODUCT, fit_tiny_bank(images[0]))
    (workdir / "mosquitto").mkdir(exist_ok=True)
    broker_process, broker = start_mosquitto(workdir / "mosquitto")
    console = {"console": {"enabled": True, "port": 0}} if console_clients else {}
    daemon = DaemonProcess(line_config(broker, workdir / "banks", **console), workdir / "daemon")
    payloads = [encode(image) for image in images[1:]]
    followers = []
    try:
        daemon.start()
        if console_clients:
            followers = start_followers(daemon.wait_for("started")[0]["console"], console_clients)
        plc = LineClient(broker, "soak-plc", subscriptions=("inspectd/+/result",))
        samples, sent, started = [], 0, time.monotonic()
        next_sample = started
        while (elapsed := time.monotonic() - started) < seconds:
            plc.publish(IMAGE_TOPIC, json_part(payloads[sent % len(payloads)], f"soak-{sent}"))
            sent += 1
            if time.monotonic() >= next_sample:
                samples.append(sample(daemon.process.pid, elapsed))
                next_sample += sample_every_s
                if echo:
                    print(json.dumps(asdict(samples[-1])), flush=True)
            time.sleep(max(0.0, started + sent / fps - time.monotonic()))
        plc.wait_results(sent, timeout_s=60)
        samples.append(sample(daemon.process.pid, time.monotonic() - started))
        report = SoakReport(sent, len(plc.results()), accounted(daemon), samples, stop_followers(followers))
        plc.close()
        return report
    finally:
        for follower in followers:
            follower.kill()
        daemon.close()
        stop_process(broker_process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between resource samples")
    parser.add_argument("--console-clients", type=int, default=0,
                        help="console on, with this many page-like followers (benchmarks/console_follower.py)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inspectd-soak-") as workdir:
        report = run_soak(args.minutes * 60, args.fps, args.data, Path(workdir), args.sample_every,
                          console_clients=args.console_clients)
    print(json.dumps({"sent": report.sent, "answered": report.answered, "counts": report.counts,
                      "console_clients": report.console_clients,
                      "first": asdict(report.samples[0]), "last": asdict(report.samples[-1]),
                      "growth_after_warm_up": report.growth()}, indent=2))


if __name__ == "__main__":
    main()
