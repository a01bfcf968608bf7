"""Drift watch: has a product's score distribution moved away from its reference? (issue 24)

Each frame gives three statistics: its image score (the largest patch distance), the mean of its anomaly map
(how far the whole frame lies from the bank; a moved camera or a new material shifts every patch a little,
which the maximum can hide) and its mean brightness. The scores alone missed a 20 % darker bottle line: the
bank holds brightness-gain copies of the goldens (0.77x), which is what makes a dimmer lamp pass, and why it
has to be watched on the pixels (docs/stream-learning.md). The reference is a set of frames of the stream at
the last calibration; the window is the most recent ``window`` frames. Each statistic is compared with a
two-sample Kolmogorov-Smirnov test (exact p-values at these sizes); the smallest p-value, Bonferroni-corrected
for the three tests, below ``alpha`` is a drift. The test runs once the window holds ``min_window`` frames and on every frame after, so
``alpha`` is set far below the usual 0.05 to keep repeated looks from raising false alarms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

STATISTICS = ("score", "map_mean", "brightness")


@dataclass(frozen=True)
class DriftRule:
    reference_frames: int = 25  # frames the reference holds
    window: int = 20  # recent frames compared with it
    min_window: int = 10  # frames in the window before the first test
    alpha: float = 1e-3  # family-wise level of one look


@dataclass(frozen=True)
class DriftAlarm:
    statistic: str  # the one that moved most (one of STATISTICS)
    p_value: float  # Bonferroni-corrected
    shift: float  # window median / reference median of that statistic
    frames_in_window: int


class DriftWatch:
    """Collects a reference, then tests every new frame's window against it; ``observe`` returns an alarm."""

    def __init__(self, rule: DriftRule) -> None:
        self.rule = rule
        self.reference: list[tuple[float, ...]] = []
        self.window: deque[tuple[float, ...]] = deque(maxlen=rule.window)
        self.last_p_value: float | None = None

    @property
    def ready(self) -> bool:
        """True once the reference is complete."""
        return len(self.reference) >= self.rule.reference_frames

    def reset(self) -> None:
        """Start over: the next ``reference_frames`` frames become the reference."""
        self.reference.clear()
        self.window.clear()
        self.last_p_value = None

    def observe(self, score: float, map_mean: float, brightness: float) -> DriftAlarm | None:
        """One frame's image score, anomaly-map mean and mean pixel value (0-255)."""
        values = (float(score), float(map_mean), float(brightness))
        if not self.ready:
            self.reference.append(values)
            return None
        self.window.append(values)
        if len(self.window) < self.rule.min_window:
            return None
        return self.test()

    def test(self) -> DriftAlarm | None:
        reference, window = np.array(self.reference), np.array(self.window)
        p_values = [ks_2samp(reference[:, i], window[:, i], method="exact").pvalue for i in range(len(STATISTICS))]
        worst = int(np.argmin(p_values))
        self.last_p_value = min(1.0, len(STATISTICS) * float(p_values[worst]))
        if self.last_p_value >= self.rule.alpha:
            return None
        shift = float(np.median(window[:, worst]) / max(np.median(reference[:, worst]), 1e-12))
        return DriftAlarm(STATISTICS[worst], self.last_p_value, shift, len(window))
