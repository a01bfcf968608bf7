"""The ``inspectd`` command line. Each command's work lives in its own module."""

from __future__ import annotations

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
