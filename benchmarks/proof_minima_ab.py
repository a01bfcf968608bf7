"""Probe (issue 25): search and map of good and defective bottle frames, the proof's row minima by min(1) (old) or by
amin with argmin only where nearer (new), four alternating rounds, one thread; checks both give the same scores and maps.
Run as `python benchmarks/proof_minima_ab.py` at the commit that holds it."""
import time, numpy as np, torch
from pathlib import Path
from inspectd.threads import cooperate; cooperate()
from inspectd.detector.fit import fit_bank
from inspectd.detector.detector import Detector
from inspectd.detector import cluster_search as cs
from inspectd.images import read_rgb, image_files
from inspectd.detector.settings import DetectorSettings
root = Path("/work/shared/data/mvtec_ad/bottle")
det = Detector(fit_bank([read_rgb(p) for p in sorted(image_files(root / "train/good"))[:4]], DetectorSettings()))
kinds = {"good": sorted(image_files(root / "test/good"))[:20],
         "defective": sorted(image_files(root / "test/broken_large"))[:10] + sorted(image_files(root / "test/contamination"))[:10]}
feats = {k: [det.embedded_features(det.input_frames([read_rgb(p)]), {}) for p in v] for k, v in kinds.items()}
new = cs.ClusteredIndex._search_rows
def old(self, queries, norms, patches, start, end, best, nearest, blocked, first_pass):
    distance = torch.addmm(self.row_norms[None, start:end], queries[patches], self.rows[start:end].T, alpha=-2.0)
    if blocked is not None:
        distance.masked_fill_(blocked[None, start:end], float("inf"))
    value, row = distance.min(1)
    value = value.numpy() + norms[patches]
    nearer = value < best[patches]
    best[patches[nearer]] = value[nearer]
    nearest[patches[nearer]] = row.numpy()[nearer] + start
times = {(k, v): [] for k in kinds for v in ("old", "new")}
out = {}
for round_ in range(4):
    for variant, fn in (("old", old), ("new", new)) if round_ % 2 == 0 else (("new", new), ("old", old)):
        cs.ClusteredIndex._search_rows = fn
        for k, fs in feats.items():
            for i, f in enumerate(fs):
                t = time.perf_counter(); s, m = det.score_maps(f, {}); times[(k, variant)].append(time.perf_counter() - t)
                key = (k, i, variant)
                if key in out:
                    assert out[key][0] == s[0] and np.array_equal(out[key][1], m)
                out[key] = (s[0], m)
for k in kinds:
    same = all(out[(k, i, "old")][0] == out[(k, i, "new")][0] and np.array_equal(out[(k, i, "old")][1], out[(k, i, "new")][1]) for i in range(20))
    o, n = np.median(times[(k, "old")]) * 1e3, np.median(times[(k, "new")]) * 1e3
    print(f"{k}: search+map median old {o:.2f} ms new {n:.2f} ms ({o / n:.2f}x); identical scores and maps: {same}")
