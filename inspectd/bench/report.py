"""The bench table: each figure of the fast path beside the reference's and their ratio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    label: str
    fast: float
    reference: float | None
    unit: str
    higher_is_better: bool = False
    target: str = ""

    def speedup(self) -> float | None:
        """How many times better the fast path is (>1: faster, smaller or more frames/s)."""
        if self.reference is None or self.fast <= 0 or self.reference <= 0:
            return None
        return self.fast / self.reference if self.higher_is_better else self.reference / self.fast


def format_table(sections: list[tuple[str, list[Row]]]) -> str:
    header = f"{'figure':<34} {'fast':>10} {'reference':>10} {'x better':>9}  {'unit':<8} target"
    lines = [header, "-" * len(header)]
    for title, rows in sections:
        lines.append(f"[{title}]")
        for row in rows:
            reference = "-" if row.reference is None else _number(row.reference)
            ratio = row.speedup()
            lines.append(f"  {row.label:<32} {_number(row.fast):>10} {reference:>10} "
                         f"{'-' if ratio is None else f'{ratio:.2f}x':>9}  {row.unit:<8} {row.target}")
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
