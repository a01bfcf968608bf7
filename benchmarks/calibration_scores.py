"""Hold-out, test and pool scores per category, shot count and seed, for comparing threshold rules.

    python benchmarks/calibration_scores.py mvtec_ad/bottle,visa/fryum 1,4 OUT_DIR
writes OUT_DIR/scores_<category>.json; benchmarks/calibration_rules.py OUT_DIR turns them into the
false-reject / escape table of docs/calibration.md. ``loo`` holds the bank's own hold-out scores (what
the threshold is computed from); ``loo_all`` every augmented copy of each golden against the others.
"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np
from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.settings import NO_AUGMENTATION, DetectorSettings
from inspectd.evaluation.dataset import load_category, draw_shots
from inspectd.images import read_rgb
from inspectd.evaluation.features_cache import FeatureCache

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
cats = sys.argv[1].split(",")
shots = [int(s) for s in sys.argv[2].split(",")]
OUT = Path(sys.argv[3])
settings = DetectorSettings()

def detector_for(fitted, s, golden_count):
    return Detector(scoring_bank(fitted, s, golden_count))

for cat in cats:
    out = {}
    t0 = time.time()
    category = load_category(ROOT / cat)
    cache = FeatureCache(settings, read_rgb(category.train_files[0]))
    test_raw, _ = cache.test(category.test_images)
    pool_raw = np.concatenate([cache.golden(p, NO_AUGMENTATION)[0] for p in category.train_files])
    for K in shots:
        for seed in (0, 1, 2):
            s = replace(settings, seed=seed)
            drawn = draw_shots(len(category.train_files), K, seed)
            goldens = [category.train_files[i] for i in drawn]
            fitted = fit_memory(lambda i, a: cache.golden(goldens[i], a)[0], K, s, cache.shape)
            det = detector_for(fitted, s, K)
            test_scores, _ = det.score_maps(test_raw, {})
            pool_idx = [i for i in range(len(category.train_files)) if i not in drawn]
            pool_scores, _ = det.score_maps(pool_raw[pool_idx], {})
            loo_all = []
            if K >= 2:
                for i in range(K):
                    others = [g for j, g in enumerate(goldens) if j != i]
                    sub = fit_memory(lambda j, a: cache.golden(others[j], a)[0], K - 1, s, cache.shape)
                    copies = cache.golden(goldens[i], settings.augmentations)[0]
                    sc, _ = detector_for(sub, s, K - 1).score_maps(copies, {})
                    loo_all.append(sc.tolist())
            out[f"{cat}|{K}|{seed}"] = dict(loo=fitted.calibration["holdout_scores"], thr=fitted.threshold, loo_all=loo_all,
                test=test_scores.tolist(), labels=category.test_labels.tolist(), pool=pool_scores.tolist())
            print(cat, K, seed, "thr", round(fitted.threshold, 3), "good med", np.median(test_scores[category.test_labels == 0]), round(time.time()-t0), flush=True)
    (OUT / f"scores_{cat.replace('/', '_')}.json").write_text(json.dumps(out))
    print(cat, "done", time.time() - t0, flush=True)
