"""The ``inspectd`` command line. Each command's work lives in its own module."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="inspectd",
    help="Few-shot industrial inspection daemon: fit golden-image banks, inspect frames, publish verdicts.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """inspectd: streaming few-shot anomaly detection for production lines."""


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
