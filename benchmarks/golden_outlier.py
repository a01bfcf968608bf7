"""Probe (docs/calibration.md, "A golden unlike the others"): does a defective image slipped in among the goldens
stand out by its hold-out score (against the other goldens' rows), and how far do real goldens' scores stray from
each other? Each draw is fitted as drawn and with its first golden replaced by a seeded test defective; one JSON line
per draw with every golden's hold-out score and its ratio to the others' median.

    python benchmarks/golden_outlier.py 4 mvtec_ad/bottle visa/fryum ...   # shots, then categories
"""
from inspectd.threads import cooperate; cooperate()
import json
import os
import sys

import numpy as np
from pathlib import Path
from inspectd.evaluation.dataset import load_category, draw_shots
from inspectd.detector.fit import fit_bank
from inspectd.images import read_rgb
D = Path(os.environ.get("INSPECTD_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
shots = int(sys.argv[1])
for c in sys.argv[2:]:
    cat = load_category(D / c)
    defectives = np.flatnonzero(cat.test_labels == 1)
    for seed in (0, 1, 2):
        drawn = draw_shots(len(cat.train_files), shots, seed)
        goldens = [read_rgb(cat.train_files[i]) for i in drawn]
        for case in ('real', 'injected'):
            images = list(goldens)
            if case == 'injected':
                pick = int(np.random.RandomState(100 + seed).choice(defectives))
                images[0] = cat.test_images[pick]
            scores = np.array(fit_bank(images).manifest['calibration']['holdout_scores'])
            ratios = [float(scores[i] / np.median(np.delete(scores, i))) for i in range(len(scores))]
            row = dict(category=c, seed=seed, case=case, scores=[round(float(s), 3) for s in scores],
                       ratios=[round(r, 3) for r in ratios],
                       defect_type=cat.test_types[pick] if case == 'injected' and cat.test_types else None)
            print(json.dumps(row), flush=True)
