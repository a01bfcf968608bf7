"""The bench table: each figure of the fast path beside a baseline's (the reference path, or anomalib) and their ratio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    label: str
    fast: float
    baseline: float | None  # the reference path's figure, or anomalib's in its section
    unit: str
    higher_is_better: bool = False
    target: str = ""

    def speedup(self) -> float | None:
        """How many times better the fast path is (>1: faster, smaller or more frames/s)."""
        if self.baseline is None or self.fast <= 0 or self.baseline <= 0:
            return None
        return self.fast / self.baseline if self.higher_is_better else self.baseline / self.fast


def format_table(sections: list[tuple[str, list[Row]]]) -> str:
    header = f"{'figure':<34} {'fast':>10} {'baseline':>10} {'x better':>9}  {'unit':<8} target"
    lines = [header, "-" * len(header)]
    for title, rows in sections:
        lines.append(f"[{title}]")
        for row in rows:
            baseline = "-" if row.baseline is None else _number(row.baseline)
            ratio = row.speedup()
            lines.append(f"  {row.label:<32} {_number(row.fast):>10} {baseline:>10} "
                         f"{'-' if ratio is None else f'{ratio:.2f}x':>9}  {row.unit:<8} {row.target}")
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
