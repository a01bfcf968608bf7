"""Compare threshold rules on the scores of benchmarks/calibration_scores.py: mean FRR / escape per category.

    python benchmarks/calibration_rules.py OUT_DIR
"""
import json, glob, sys
import numpy as np
from statistics import NormalDist
rows = {}
for f in sorted(glob.glob(f"{sys.argv[1]}/scores_*.json")):
    rows.update(json.load(open(f)))
Z = NormalDist().inv_cdf

def rules(r, K):
    loo = np.log(r["loo"])
    out = {"max": np.exp(loo.max())}
    allc = np.log(np.concatenate(r["loo_all"])) if r["loo_all"] else loo
    out["max_all"] = np.exp(allc.max())
    for z_t in (0.01, 0.05):
        z = Z(1 - z_t)
        for s0 in (0.05, 0.08, 0.1):
            for n0 in (2, 4):
                x = allc
                n = len(x)
                s = x.std(ddof=1) if n > 1 else 0.0
                sig = np.sqrt(((n - 1) * s * s + n0 * s0 * s0) / (n - 1 + n0))
                out[f"ln_all z{z_t} s0={s0} n0={n0}"] = np.exp(x.mean() + z * sig)
                x = loo; n = len(x); s = x.std(ddof=1) if n > 1 else 0.0
                sig = np.sqrt(((n - 1) * s * s + n0 * s0 * s0) / max(n - 1 + n0, 1))
                out[f"ln_loo z{z_t} s0={s0} n0={n0}"] = np.exp(x.mean() + z * sig)
    return out

table = {}
for k, r in rows.items():
    cat, K, seed = k.split("|"); K = int(K)
    t = np.array(r["test"]); lab = np.array(r["labels"])
    for name, thr in rules(r, K).items():
        frr = (t[lab == 0] > thr).mean(); esc = (t[lab == 1] <= thr).mean()
        table.setdefault((name, K), {}).setdefault(cat, []).append((frr, esc))
for K in (1, 4):
    print(f"== K={K}")
    res = []
    for (name, k), cats in table.items():
        if k != K: continue
        per = {c: np.mean(v, axis=0) for c, v in cats.items()}
        m = np.mean(list(per.values()), axis=0)
        res.append((m[0] + m[1], name, m, per))
    for tot, name, m, per in sorted(res)[:12] + [x for x in res if x[1] in ("max", "max_all")]:
        print(f"{name:32s} FRR {m[0]:.3f} esc {m[1]:.3f} | " + " ".join(f"{c.split('/')[1][:6]} {v[0]:.2f}/{v[1]:.2f}" for c, v in per.items()))
