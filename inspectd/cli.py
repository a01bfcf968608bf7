"""The ``inspectd`` command line. Each command's work lives in its own module."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    name="inspectd",
    help="Few-shot industrial inspection daemon: fit golden-image banks, inspect frames, publish verdicts.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(ctx: typer.Context) -> None:
    """inspectd: streaming few-shot anomaly detection for production lines."""
    if ctx.invoked_subcommand not in (None, "check-config"):  # before torch and faiss load: inspectd/threads.py
        from inspectd.threads import cooperate

        try:
            cooperate()
        except ValueError as error:
            typer.echo(f"inspectd: {error}", err=True)
            raise typer.Exit(2) from None


@app.command("run")
def run(config: Path = typer.Option(Path("/etc/inspectd/config.yaml"), "--config", "-c", help="YAML config file")) -> None:
    """Run the inspection daemon until SIGTERM (drains queues, publishes pending results, exits 0)."""
    from inspectd.daemon.main import run_from_file

    raise typer.Exit(run_from_file(config))


@app.command("check-config")
def check_config(config: Path = typer.Argument(..., help="YAML config file to validate")) -> None:
    """Validate a config file without starting anything; every problem names its key path."""
    from inspectd.daemon.main import check_config_file

    raise typer.Exit(check_config_file(config))


SET_HELP = ("detector setting as KEY=VALUE (repeatable), e.g. input_size=224, augmentations.rotations=1, "
            "embedder.enabled=true, backbone=resnet18, weights_path=/models/r18.pth")


@app.command("refit")
def refit(
    product: str = typer.Option(..., "--product", help="product name"),
    golden: Path = typer.Option(..., "--golden", help="folder of golden (known-good) images"),
    config: Path | None = typer.Option(None, "--config", "-c",
                                       help="daemon config: the product's banks_dir and detector settings"),
    banks: Path | None = typer.Option(None, "--banks", help="banks directory (default: from --config, else ./banks)"),
    settings_options: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Fit a product's bank from golden images and write it as the next version (a running daemon swaps it in)."""
    from inspectd.detector.refit import product_settings, refit_product
    from inspectd.evaluation.command import settings_from_options
    from inspectd.progress import StageReporter

    try:
        configured_banks, base = product_settings(product, config)
        settings = settings_from_options(settings_options, base)
    except ValueError as error:
        typer.echo(f"refit: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(refit_product(product, golden, banks or configured_banks, settings,
                             StageReporter(f"refit {product}")).summary())


@app.command("eval")
def eval_command(
    data: list[Path] = typer.Option(..., "--data", help="category folder in MVTec AD layout (repeatable)"),
    shots: str = typer.Option("1,2,4,8", "--shots"),
    seeds: str = typer.Option("0,1,2", "--seeds"),
    method: list[str] = typer.Option(["graphcore"], "--method", help="graphcore | patchcore | padim | simplenet (repeatable)"),
    json_path: Path | None = typer.Option(None, "--json", help="write per-run results as JSON"),
    settings_options: list[str] = typer.Option([], "--set", help=SET_HELP),
    feedback: bool = typer.Option(False, "--feedback", help="also rates after 1, 2, 4 simulated operator corrections"),
    stream: int = typer.Option(0, "--stream", help="N unlabeled stream frames learnt from (rates before and after)"),
    defect_rate: float = typer.Option(0.05, "--defect-rate", help="share of defectives in the --stream frames"),
    systematic: float | None = typer.Option(None, "--systematic", help="share of --stream frames carrying one defect type"),
    drift: bool = typer.Option(False, "--drift", help="with --stream: the drift watch on it, darkened 20 %% halfway"),
    stream_rule: list[str] = typer.Option([], "--stream-rule", help="with --stream: a StreamRule field as KEY=VALUE"),
) -> None:
    """K-shot evaluation on real images (METHOD.md section 6): AUROC, rates at the calibrated threshold, timings."""
    from inspectd.evaluation.command import StreamOptions, run_eval, settings_from_options, stream_rule_from_options
    from inspectd.evaluation.dataset import check_category

    try:
        for data_dir in data:
            check_category(data_dir)
        settings = settings_from_options(settings_options)
        options = (StreamOptions(stream, defect_rate, systematic, drift, stream_rule_from_options(stream_rule))
                   if stream > 0 else None)
    except ValueError as error:
        typer.echo(f"eval: {error}", err=True)
        raise typer.Exit(2) from None
    run_eval(data, shots, seeds, method, settings, json_path, feedback, echo=typer.echo, stream=options)


@app.command("bench")
def bench(
    images: Path = typer.Option(Path("../shared/data/mvtec_ad/bottle"), "--images",
                                help="category folder in MVTec AD layout: train/good for goldens, test/* as frames"),
    shots: int = typer.Option(4, "--shots", help="golden images in the bank"),
    batch: int = typer.Option(8, "--batch", help="frames per batch for the sustained rate"),
    size: int | None = typer.Option(None, "--size", help="input size in pixels (default: the detector's)"),
    frames: int = typer.Option(64, "--frames", help="frames timed per measurement"),
    banks: int = typer.Option(10, "--banks", help="product banks loaded for the memory figure"),
    threads: int | None = typer.Option(None, "--threads", help="intra-op threads (torch, faiss, OpenCV) for all paths "
                                       "(default: inspectd's, INSPECTD_THREADS or half the CPUs)"),
    precision: str | None = typer.Option(None, "--precision", help="fast path: float32 | bfloat16 (default: the detector's)"),
    rotations: int | None = typer.Option(None, "--rotations", help="rotated copies per golden (default: the detector's)"),
    pose: str | None = typer.Option(None, "--pose", help="auto | off: pose-align long parts (default: the detector's)"),
    search: str | None = typer.Option(None, "--search", help="fast path: clustered | ivf | shortlist | exact "
                                      "(default: the detector's)"),
) -> None:
    """Time the frame-to-verdict path per stage beside the float32 reference, in one run; print the table."""
    from inspectd.bench.command import bench_settings, run_bench

    try:
        run_bench(images, shots, batch, bench_settings(size, precision, rotations, pose, search), frames, banks,
                  threads, echo=typer.echo)
    except ValueError as error:
        typer.echo(f"bench: {error}", err=True)
        raise typer.Exit(2) from None


@app.command("feedback")
def feedback(
    product: str = typer.Option(..., "--product", help="product name"),
    frame: str = typer.Option(..., "--frame", help="frame id of a kept frame (or an image file)"),
    good: bool = typer.Option(..., "--good/--defective", help="the operator's verdict on the frame"),
    config: Path | None = typer.Option(None, "--config", "-c", help="daemon config: banks and results folders"),
    banks: Path | None = typer.Option(None, "--banks", help="banks directory (overrides the config)"),
    results: Path | None = typer.Option(None, "--results", help="results directory holding kept frames"),
) -> None:
    """Mark a frame good (its patches join the bank as a new version, threshold recalibrated) or defective (kept for reports)."""
    from inspectd.daemon.feedback_commands import feedback_from_cli

    typer.echo(feedback_from_cli(product, frame, "good" if good else "defective", config, banks, results).summary())


@app.command("send")
def send(
    images: list[Path] = typer.Argument(..., help="image files (JPEG/PNG) to inspect, one part each"),
    config: Path = typer.Option(..., "--config", "-c", help="the running daemon's config: its broker and input"),
    input_name: str | None = typer.Option(None, "--input", help="mqtt input to send to (default: the only one)"),
    timeout: float = typer.Option(30.0, "--timeout", help="seconds to wait for each image's result"),
    wait: float = typer.Option(300.0, "--wait", help="seconds to wait for the daemon to come online (it loads its "
                               "banks and backbone first)"),
    json_output: bool = typer.Option(False, "--json", help="also print each result's JSON"),
) -> None:
    """Publish image files to a running daemon's MQTT input and print the result each one gets."""
    from inspectd.config import ConfigError, load_config
    from inspectd.send import SendError, send_images

    try:
        results = send_images(load_config(config), images, input_name, timeout, echo=typer.echo, wait_s=wait,
                              note=lambda line: typer.echo(line, err=True))
    except (ConfigError, SendError, OSError) as error:
        typer.echo(f"send: {error}", err=True)
        raise typer.Exit(2) from None
    if json_output:
        for result in results:
            typer.echo(json.dumps(result, indent=2))


@app.command("demo")
def demo(
    workdir: Path = typer.Option(Path("var/demo"), "--workdir", help="where the demo's images, bank and results go"),
    metrics_port: int = typer.Option(9108, "--metrics-port", help="Prometheus /metrics port on 127.0.0.1"),
    console_port: int = typer.Option(8089, "--console-port", help="operator console (web page) port on 127.0.0.1"),
    fps: float = typer.Option(4.0, "--fps", help="frames per second the demo camera plays"),
    loop: bool = typer.Option(False, "--loop", help="play the stream forever (Ctrl-C stops)"),
) -> None:
    """Run the daemon on a generated demo line: no camera, no broker, bank fitted on first run."""
    from inspectd.demo.line import run_demo

    raise typer.Exit(run_demo(workdir, metrics_port, console_port, fps, loop, echo=typer.echo))
