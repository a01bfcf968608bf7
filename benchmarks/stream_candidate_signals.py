"""Probe of 2026-12-05 (issue 24): can statistics of the unlabeled stream tell a candidate that will lose AUROC
(fryum) from one that gains (juice_bottle, screw, commutator)?

    OMP_NUM_THREADS=1 python benchmarks/stream_candidate_signals.py visa/fryum,mvtec_loco/juice_bottle 0,1

Per category and seed (4 goldens, a 50-frame stream at 5 % defects, the default StreamRule): test AUROC before and
after; each stream defective's score ratio (candidate, leave-one-frame-out / base) and the stream goods' median
ratio; the same medians on the test goods and defectives (which the stream cannot see); the stream's tail gap
((90th percentile - median) / MAD, (max - median) / MAD) before and after; the correlation of a frame's score
before with its ratio; admitted rows.
"""
import sys, json
import numpy as np, torch
from pathlib import Path
from inspectd.detector.settings import DetectorSettings
from inspectd.detector.stream_learning import StreamRule, StreamSample, fit_stream_candidate
from inspectd.evaluation.feedback_eval import prepare_run, fit_seed
from inspectd.evaluation import stream_eval as se
from inspectd.evaluation.metrics import auroc
torch.set_num_threads(1)
for c in sys.argv[1].split(','):
    run = prepare_run(Path(__file__).resolve().parents[2] / 'shared' / 'data' / c, DetectorSettings())
    for seed in [int(s) for s in sys.argv[2].split(',')]:
        bank, pool = fit_seed(run, 4, seed)
        stream = se.draw_stream(run, pool, 50, 0.05, seed, None)
        feats = se.stream_features(run, stream)
        _, failed = se._verdicts(bank, feats)
        cand = fit_stream_candidate(bank, StreamSample(feats, [str(i) for i in range(len(feats))], ~failed), StreamRule())
        b, a = cand.stream_scores_before, cand.stream_scores
        is_def = np.zeros(len(feats), bool); is_def[np.flatnonzero(stream.order >= len(stream.goods))] = True
        scored = np.ones(len(run.category.test_labels), bool); scored[stream.defects] = False
        labels = run.category.test_labels[scored]
        sb, _ = se._verdicts(bank, run.test_features[scored]); sa, _ = se._verdicts(cand.bank, run.test_features[scored])
        def gap(x):
            med = np.median(x); mad = np.median(np.abs(x - med))
            return (np.quantile(x, 0.9) - med) / mad, (x.max() - med) / mad
        # test-set statistics the stream can't see, for reference
        good_drop = np.median(sa[labels == 0] / sb[labels == 0]); bad_drop = np.median(sa[labels == 1] / sb[labels == 1])
        print(json.dumps({'cat': c, 'seed': seed, 'auroc': [round(auroc(sb, labels), 3), round(auroc(sa, labels), 3)],
            'stream_defects': int(is_def.sum()), 'defect_ratio_stream': np.round(a[is_def] / b[is_def], 3).tolist(),
            'good_ratio_stream_median': round(float(np.median(a[~is_def] / b[~is_def])), 3),
            'test_good_ratio': round(float(good_drop), 3), 'test_bad_ratio': round(float(bad_drop), 3),
            'gap_before': np.round(gap(b), 2).tolist(), 'gap_after': np.round(gap(a), 2).tolist(),
            'corr_before_ratio': round(float(np.corrcoef(b, a / b)[0, 1]), 3), 'admitted': cand.admitted_rows}), flush=True)
