"""Probe (issue 24): which admission of stream patches buys separation, and what capping the threshold at the
goldens' does. Runs against detector/stream_learning.py as of this commit (its admitted_patches is swapped for
each variant; the threshold rule and validation are the module's), 4 goldens, pose off, as the eval.

    OMP_NUM_THREADS=1 python benchmarks/stream_admission_probe.py mvtec_ad/screw 0 goods,all:100000:3 0.3,n

variants: current (the module's), goods (oracle: every patch of the stream's good frames), low (every patch
of the frames at or below the stream's median score), lowrec:C:M / all:C:M / fence:C:M (the C worst-covered
patches of those frames / every frame / frames below the stream's Gumbel fence, kept when M distinct frames
show them; M < 1 is a share of the frames); each also evaluated with its threshold capped at the base bank's
(+cap). Streams: n (5 % defective) and/or a systematic share. One JSON line per row on stdout."""
import json
import os
import sys
import time
from pathlib import Path
import numpy as np, torch
from inspectd.detector.settings import DetectorSettings
import inspectd.detector.stream_learning as sl
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate
from inspectd.evaluation.feedback_eval import prepare_run, fit_seed
from inspectd.evaluation.stream_eval import draw_stream, stream_features, _verdicts
from inspectd.evaluation.metrics import auroc

cat, seed, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
shares = [None, 0.3] if len(sys.argv) < 5 else [None if s == "n" else float(s) for s in sys.argv[4].split(",")]
CUR = {}

def recurring(cand_feats, cand_dist, cand_src, pool, min_rec, ratio):
    pool_t = torch.from_numpy(pool)  # [F,P,D]
    norms = (pool_t * pool_t).sum(-1)
    out = np.zeros(len(cand_feats), bool)
    with torch.inference_mode():
        for s in range(0, len(cand_feats), 64):
            b = torch.from_numpy(cand_feats[s:s+64])
            sq = ((b*b).sum(1)[:, None, None] + norms[None] - 2*torch.einsum("bd,fpd->bfp", b, pool_t)).amin(-1)
            near = sq.clamp_min_(0).sqrt_().numpy() < ratio * cand_dist[s:s+64, None]
            near[np.arange(len(b)), cand_src[s:s+64]] = True
            out[s:s+64] = near.sum(1) >= min_rec
    return out

def make(variant):
    kind, *args = variant.split(":")
    def admit(features, grids, passed, threshold, rule):
        N, h, w, D = features.shape
        scores = CUR["before_scores"]
        if kind == "current":
            return ORIG(features, grids, passed, threshold, rule)
        if kind == "goods":
            frames = np.flatnonzero(CUR["isgood"])
        elif kind == "fence":
            frames = np.flatnonzero(scores <= sl.gumbel_quantile(scores, 1 - rule.target_false_reject))
        elif kind in ("low", "lowrec"):  # frames at or below the stream's median before-score
            frames = np.flatnonzero(scores <= np.median(scores))
        else:
            frames = np.arange(N)
        flat = grids[frames].reshape(-1)
        if kind == "below":  # every frame, but only patches at or below the serving threshold when seen
            flat = np.where(flat <= threshold, flat, 0.0)
        ncand = int(args[0]) if args else 8192
        if kind in ("low", "goods"):
            idx = np.arange(len(flat))
            keep = np.ones(len(idx), bool)
        else:
            idx = np.argsort(-flat, kind="stable")[:ncand]
            minrec = float(args[1]) if len(args) > 1 else 5
            minrec = int(np.ceil(minrec * N)) if minrec < 1 else int(minrec)
            pool = features[frames].reshape(len(frames), -1, D)
            keep = recurring(pool.reshape(-1, D)[idx], flat[idx], idx // (h*w), pool, minrec, rule.recurrence_ratio)
        chosen = idx[keep]
        return features[frames].reshape(-1, D)[chosen], frames[chosen // (h*w)]
    return admit

ORIG = sl.admitted_patches
t0 = time.time()
run = prepare_run(Path(os.environ.get("INSPECTD_DATA", "../shared/data")) / cat, DetectorSettings())
bank, pool = fit_seed(run, 4, seed)
out = []
for share in shares:
    stream = draw_stream(run, pool, 50, 0.05, seed, share)
    feats = stream_features(run, stream)
    bscores, failed = _verdicts(bank, feats)
    CUR["before_scores"] = bscores
    CUR["isgood"] = np.r_[np.ones(len(stream.goods), bool), np.zeros(len(stream.defects), bool)][stream.order]
    scored = np.ones(len(run.category.test_labels), bool); scored[stream.defects] = False
    labels = run.category.test_labels[scored]; tf = run.test_features[scored]
    types = np.array(run.category.test_types)[scored]
    def evalbank(b, name, extra):
        s, r = _verdicts(b, tf)
        row = dict(cat=cat, seed=seed, share=share, v=name, auroc=round(auroc(s, labels), 4), fr=round(float(r[labels == 0].mean()), 3),
                   esc=round(float((~r)[labels == 1].mean()), 3), thrx=round(b.threshold / bank.threshold, 3), **extra)
        if stream.systematic_type:
            row["type_esc"] = round(float((~r)[types == stream.systematic_type].mean()), 3)
        print(json.dumps(row), flush=True); out.append(row)
    evalbank(bank, "before", {})
    for v in variants:
        sl.admitted_patches = make(v)
        t = time.time()
        c = fit_stream_candidate(bank, StreamSample(feats, [str(i) for i in range(len(feats))], ~failed), StreamRule(max_admitted_share=float(v.split("@")[1]) if "@" in v else 1.0))
        evalbank(c.bank, v, dict(acc=c.accepted, adm=c.admitted_rows, fit_s=round(time.time() - t), prob=c.problems[:1]))
        c.bank.manifest["threshold"] = min(c.bank.threshold, bank.threshold)
        evalbank(c.bank, v + "+cap", {})
