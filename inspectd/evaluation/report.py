"""Eval results as a Markdown table (mean over seeds per category and shot, plus mean rows) and JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inspectd.evaluation.harness import EvalResult

COLUMNS = ("image_auroc", "pixel_auroc", "false_reject_rate", "escape_rate", "escape_at_5pct_false_reject",
           "fit_seconds", "ms_per_image")
HEADER = ("| method | category | shots | seeds | image AUROC | pixel AUROC | false reject | escape "
          "| best escape at 5 % false reject | fit s | ms/image |")


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _cell(value: float | None, column: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if column in ("fit_seconds", "ms_per_image") else f"{value:.3f}"


def table(results: list[EvalResult]) -> str:
    groups: dict[tuple[str, str, int], list[EvalResult]] = defaultdict(list)
    for result in results:
        groups[(result.method, result.category, result.shots)].append(result)
    lines = [HEADER, "|" + "---|" * (len(COLUMNS) + 4)]
    means: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for (method, category, shots), runs in groups.items():
        row = {c: _mean([getattr(r, c) for r in runs]) for c in COLUMNS}
        means[(method, shots)].append(row)
        seeds = ",".join(str(r.seed) for r in runs)
        lines.append(f"| {method} | {category} | {shots} | {seeds} | "
                     + " | ".join(_cell(row[c], c) for c in COLUMNS) + " |")
    for (method, shots), rows in means.items():
        mean_row = {c: _mean([row[c] for row in rows]) for c in COLUMNS}
        lines.append(f"| {method} | **mean** | {shots} | | " + " | ".join(_cell(mean_row[c], c) for c in COLUMNS) + " |")
    return "\n".join(lines)


def write_json(results: list[EvalResult], path: Path, feedback: list = (), drift: list = ()) -> None:
    """``{"results": [...]}``, plus ``"feedback": [...]`` rows when feedback was simulated and ``"drift": [...]``
    rows when the drift watch was."""
    document = {"results": [asdict(r) for r in results]}
    if feedback:
        document["feedback"] = [asdict(row) for row in feedback]
    if drift:
        document["drift"] = [asdict(row) for row in drift]
    Path(path).write_text(json.dumps(document, indent=1))
