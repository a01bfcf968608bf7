"""Merge the JSON files of several `inspectd eval --json` runs and print the Markdown table of docs/results.md.

    python benchmarks/eval_tables.py part1.json part2.json > table.md
(The full table is run as two `inspectd eval` processes over disjoint categories, one per core.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from inspectd.evaluation.harness import EvalResult
from inspectd.evaluation.report import table


def load_results(paths: list[Path]) -> list[EvalResult]:
    return [EvalResult(**row) for path in paths for row in json.loads(path.read_text())["results"]]


if __name__ == "__main__":
    print(table(load_results([Path(p) for p in sys.argv[1:]])))
