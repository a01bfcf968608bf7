"""``inspectd demo``: the daemon on a generated demo line, with no camera and no broker.

First run: draws the demo part's golden images and a stream of good and defective parts, fits the
product's bank from the golden images, and writes the daemon config it uses (``demo.yaml`` in the
work folder, a normal config that ``inspectd run --config`` accepts). Then it runs the real daemon on
that config: an image-folder camera plays the stream, every verdict is logged as it comes, results
and heatmaps go to disk, Prometheus metrics and the operator console are served on localhost. After one pass over the stream
it stops the daemon (drain, as on SIGTERM) and compares the verdicts with the truth in the names.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

from inspectd.demo.parts import write_line

PRODUCT = "flange"
CAMERA = "demo-line"
ANSWER_TIMEOUT_S = 600.0


def demo_config(workdir: Path, metrics_port: int, console_port: int, fps: float, loop: bool, parts: int) -> dict:
    """The daemon config of the demo line. The product's queue holds the whole stream of ``parts``: a camera
    that runs ahead of the detector has its oldest frames dropped (right for a moving line), and on a slow
    or busy machine the demo would then never hear back about those parts."""
    return {
        "products": {PRODUCT: {"banks_dir": str(workdir / "banks"), "heatmap": {"format": "jpeg"},
                               "queue_size": parts}},
        "cameras": [{
            "name": CAMERA,
            "source": {"type": "image_folder", "uri": str(workdir / "stream"), "loop": loop},
            "product": PRODUCT,
            "fps": fps,
        }],
        "storage": {"results_dir": str(workdir / "results"), "save": "all", "retention_days": 1},
        "metrics": {"bind": "127.0.0.1", "port": metrics_port},
        "console": {"enabled": True, "bind": "127.0.0.1", "port": console_port},
        "logging": {"level": "info", "json": False},
    }


def prepare(workdir: Path, echo: Callable[[str], None]) -> None:
    """Draw the demo images and fit the bank, unless an earlier run already did."""
    from inspectd.detector import BankStore
    from inspectd.detector.refit import refit_product
    from inspectd.progress import StageReporter

    if not (workdir / "stream").is_dir():
        folders = write_line(workdir)
        echo(f"demo: drew golden images in {folders['golden']} and a part stream in {folders['stream']}")
    if BankStore(workdir / "banks").latest(PRODUCT) is None:
        echo(f"demo: fitting the '{PRODUCT}' bank from the golden images (once; minutes on a busy machine) ...")
        echo(refit_product(PRODUCT, workdir / "golden", workdir / "banks",
                           progress=StageReporter(f"demo: fit {PRODUCT}")).summary())


def run_demo(workdir: Path, metrics_port: int, console_port: int, fps: float, loop: bool,
             echo: Callable[[str], None]) -> int:
    """Prepare, run the daemon over the stream (forever with ``loop``), report; exit code 0 on success."""
    from inspectd.config import load_config
    from inspectd.daemon.logs import configure_logging
    from inspectd.daemon.service import Daemon

    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    prepare(workdir, echo)
    parts = sorted(p.stem for p in (workdir / "stream").iterdir() if p.suffix == ".png")
    config_path = workdir / "demo.yaml"
    config_path.write_text(yaml.safe_dump(demo_config(workdir, metrics_port, console_port, fps, loop, len(parts)), sort_keys=False))
    config = load_config(config_path)
    configure_logging(config.logging)
    results_dir = workdir / "results" / CAMERA
    started_at = time.time()
    echo(f"demo: daemon config {config_path}; metrics on http://127.0.0.1:{metrics_port}/metrics")
    echo(f"demo: operator console on http://127.0.0.1:{console_port}/ (open it in a browser; --loop keeps it up)")
    daemon = Daemon(config)
    if loop:
        daemon.run_forever()  # until Ctrl-C / SIGTERM
        return 0
    daemon.start()
    try:
        _wait_for_results(results_dir, started_at, len(parts))
    finally:
        daemon.stop()
    return _report(results_dir, started_at, parts, echo)


def _wait_for_results(results_dir: Path, since: float, expected: int) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while len(_results_since(results_dir, since)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)


def _results_since(results_dir: Path, since: float) -> list[dict]:
    files = [p for p in results_dir.glob("*/*.json") if p.stat().st_mtime >= since]
    return [json.loads(p.read_text()) for p in files]


def _report(results_dir: Path, since: float, parts: list[str], echo: Callable[[str], None]) -> int:
    results = _results_since(results_dir, since)
    outcome: Counter[str] = Counter()
    for result in results:
        truth = "good" if result["part_id"].endswith("_good") else "defective"
        outcome[f"{truth}->{result['verdict']}"] += 1
    echo("")
    echo(f"demo: {len(results)} of {len(parts)} parts answered")
    echo(f"  good parts passed:        {outcome['good->pass']:3d}   rejected: {outcome['good->fail']:3d}")
    echo(f"  defective parts caught:   {outcome['defective->fail']:3d}   escaped:  {outcome['defective->pass']:3d}")
    if outcome["good->error"] or outcome["defective->error"]:
        echo(f"  errors: {outcome['good->error'] + outcome['defective->error']}")
    echo(f"  results and heatmap overlays: {results_dir}/<date>/<frame_id>.json|.jpg")
    echo("  run it as a service: inspectd run --config " + str(results_dir.parent.parent / "demo.yaml"))
    echo("  next: README.md, 'Inspect your own part in 10 minutes' (`source .venv/bin/activate` puts inspectd on PATH)")
    return 0 if len(results) == len(parts) else 1
