"""What the part presence check does to real test images: goods it fails (false rejects it adds) and defectives.

    OMP_NUM_THREADS=1 python benchmarks/presence_rates.py --categories mvtec_ad/screw,visa/fryum \
        [--shots 1,4] [--seeds 0,1,2]

Default detector, K goldens per METHOD.md section 6. For each category and shot count (mean over the
seeds): the share of test goods and of defectives whose coverage distance exceeds the presence
threshold, each also counted for presence alone (their anomaly score at or below its threshold: the
false rejects it adds, the escapes it saves), the check's milliseconds per test image, and its headroom on
goods: the largest test good's coverage distance over the presence threshold (the largest over the seeds;
1.0 would be a false reject). detector/presence.py describes the check.
"""

from __future__ import annotations

import time

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.presence import coverage_distances


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    for name, category, test, shots, detectors in seeded_detectors(args):
        good = category.test_labels == 0
        rows, headroom = [], 0.0
        for detector in detectors:
            coverage = coverage_distances(detector.presence.rows, test[good])
            headroom = max(headroom, float(coverage.max()) / detector.presence.threshold)
            scores, _ = detector.score_maps(test, {})
            started = time.perf_counter()
            missing = detector.part_missing(test)
            ms = (time.perf_counter() - started) * 1000.0 / len(test)
            alone = missing & (scores <= detector.threshold)  # failed only because of the presence check
            rows.append((missing[good].mean(), alone[good].mean(), missing[~good].mean(), alone[~good].mean(), ms))
        goods, goods_alone, defectives, defectives_alone, ms = np.mean(rows, axis=0)
        print(f"{name:32s} shots {shots}: goods failed {goods:.3f} (by presence alone {goods_alone:.3f}), "
              f"defectives flagged {defectives:.3f} (by presence alone {defectives_alone:.3f}), {ms:.2f} ms/image, "
              f"largest good / threshold {headroom:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
