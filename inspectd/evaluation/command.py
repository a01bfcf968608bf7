"""What ``inspectd eval`` does: run the harness, print progress and the table, write JSON."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from inspectd.detector.settings import DetectorSettings
from inspectd.detector.stream_learning import StreamRule
from inspectd.evaluation.feedback_eval import feedback_rows, feedback_table
from inspectd.evaluation.harness import EvalResult, evaluate
from inspectd.evaluation.report import table, write_json
from inspectd.evaluation.stream_eval import run_stream_eval


@dataclass(frozen=True)
class StreamOptions:
    """``--stream N --defect-rate P [--systematic S] [--drift] [--stream-rule KEY=VALUE ...]``."""
    frames: int
    defect_rate: float
    systematic: float | None
    drift: bool
    rule: StreamRule = StreamRule()


def stream_rule_from_options(options: list[str]) -> StreamRule:
    """The default StreamRule with ``KEY=VALUE`` overrides (``max_admitted_share=0``)."""
    overrides = {}
    for option in options:
        key, sep, text = option.partition("=")
        if not sep or key.strip() not in StreamRule.__dataclass_fields__:
            raise ValueError(f"stream rule {option!r} is not KEY=VALUE with KEY one of "
                             f"{sorted(StreamRule.__dataclass_fields__)}")
        overrides[key.strip()] = yaml.safe_load(text)
    return replace(StreamRule(), **overrides)


def parse_ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def settings_from_options(options: list[str], base: DetectorSettings | None = None) -> DetectorSettings:
    """``base`` (default settings) with ``KEY=VALUE`` overrides; nested keys use dots (``embedder.enabled=false``)."""
    overrides: dict = {}
    for option in options:
        key, sep, text = option.partition("=")
        if not sep:
            raise ValueError(f"setting {option!r} is not KEY=VALUE")
        *parents, leaf = key.strip().split(".")
        section = overrides
        for parent in parents:
            section = section.setdefault(parent, {})
        value = yaml.safe_load(text)
        # YAML 1.1 reads on/off/yes/no as booleans; a word other than true/false stays the word (pose=off)
        section[leaf] = text.strip() if isinstance(value, bool) and text.strip().lower() not in ("true", "false") \
            else value
    return (base or DetectorSettings()).with_overrides(overrides)


def run_eval(data_dirs: list[Path], shots: str, seeds: str, methods: list[str], settings: DetectorSettings,
             json_path: Path | None, feedback: bool = False, echo=print, stream: StreamOptions | None = None
             ) -> list[EvalResult]:
    """The eval table; with ``feedback``, also the default detector's rates after 1, 2 and 4 simulated
    operator corrections (first false rejects from the unused train/good images); with ``stream``, the
    default detector before and after stream learning instead (evaluation/stream_eval.py)."""
    if stream is not None:
        results, drifts = run_stream_eval(data_dirs, parse_ints(shots), parse_ints(seeds), settings, stream.frames,
                                          stream.defect_rate, stream.systematic, stream.drift, echo, stream.rule)
        if json_path is not None:
            write_json(results, json_path, drift=drifts)
        return results
    results: list[EvalResult] = []
    for method in methods:
        results += evaluate(data_dirs, parse_ints(shots), parse_ints(seeds), method, settings,
                            progress=lambda r: echo(f"{r.method} {r.category} K={r.shots} seed={r.seed}: "
                                                    f"image AUROC {r.image_auroc:.3f}"))
    echo(table(results))
    feedback_results = []
    if feedback:
        feedback_results = [row for data_dir in data_dirs for shot_count in parse_ints(shots)
                            for row in feedback_rows(data_dir, shot_count, parse_ints(seeds), settings)]
        echo(feedback_table(feedback_results))
    if json_path is not None:
        write_json(results, json_path, feedback_results)
    return results


