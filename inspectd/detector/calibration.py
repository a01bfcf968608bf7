"""Pass/fail threshold from golden images alone (METHOD.md section 5).

Hold-out groups are the golden images (K >= 2; each golden's unaugmented image is scored against
the bank without that golden's patches) or, for a single golden image, its augmented copies (each
copy scored against the bank without that copy's patches). When there is only one group
(one golden image, no augmentation), a copy shifted by half a feature stride is scored against the
bank instead. The threshold is the (1 - target false-reject rate) quantile of those scores, which
for fewer than 1/target scores is their maximum.
"""

from __future__ import annotations

import numpy as np

HALF_STRIDE_SHIFT = 4  # pixels at input size; the finest backbone stage has stride 8


def holdout_groups(n_goldens: int, copies_per_golden: int) -> np.ndarray:
    """Group id of each copy, copies ordered golden by golden."""
    if n_goldens > 1:
        return np.repeat(np.arange(n_goldens), copies_per_golden)
    return np.arange(copies_per_golden)


def threshold_from_scores(holdout_scores: np.ndarray, target_false_reject: float) -> float:
    return float(np.quantile(holdout_scores, 1.0 - target_false_reject, method="higher"))
