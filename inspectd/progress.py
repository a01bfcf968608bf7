"""Progress of long work (a bank fit): a bar on a terminal, one line per stage otherwise.

The work reports through a plain callback, ``progress(stage, done, total)``: ``done`` is 0 when a stage
starts and ``total`` when it ends. The detector core takes the callback and knows nothing of terminals.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

Progress = Callable[[str, int, int], None]

BAR_WIDTH = 24


def no_progress(stage: str, done: int, total: int) -> None:
    """The callback of work nobody watches."""


class StageReporter:
    """A ``Progress`` callback writing to ``stream``: on a terminal one bar per stage, redrawn in place; else a
    line when a stage starts and one when it ends, with its seconds (logs and CI keep every line)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = self._stream.isatty()
        self._started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if done == 0:
            self._started = time.monotonic()
        seconds = time.monotonic() - self._started
        if self._terminal:
            filled = BAR_WIDTH * done // max(total, 1)
            end = "\n" if done >= total else ""
            self._write(f"\r{self._label}: {stage:<11} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                        f"{done}/{total} {seconds:5.1f} s{end}")
        elif done == 0:
            self._write(f"{self._label}: {stage} ({total} step(s)) ...\n")
        elif done >= total:
            self._write(f"{self._label}: {stage} done in {seconds:.1f} s\n")

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
