"""Probe (issue 24): do a pose-aligned bank's goldens score differently against it when their crops' cells beyond the
frame count (as stream learning and feedback rescore them) than when they do not (as refit calibrates them)?
Run as `OMP_NUM_THREADS=1 python benchmarks/golden_floor_cells.py ../shared/data/mvtec_ad/screw 4`.
"""
import sys, numpy as np
from pathlib import Path
from inspectd.detector.fit import fit_bank
from inspectd.images import read_rgb, image_files
from inspectd.detector.settings import DetectorSettings
from inspectd.detector.calibration import leave_one_group_out_scores
from inspectd.evaluation.dataset import draw_shots

category, shots = Path(sys.argv[1]), int(sys.argv[2])
files = sorted(image_files(category / "train" / "good"))
for seed in (0, 1, 2):
    paths = [files[i] for i in draw_shots(len(files), shots, seed)]
    settings = DetectorSettings(seed=seed)
    bank = fit_bank([read_rgb(p) for p in paths], settings)
    if bank.manifest.get("pose") is None:
        print(seed, "no pose"); continue
    shape = tuple(bank.manifest["input_shape"])
    masked = np.array(bank.manifest["calibration"]["holdout_scores"])
    whole = leave_one_group_out_scores(bank.memory, bank.row_groups, bank.holdout_features, bank.settings, shape)
    print(seed, "threshold", round(bank.threshold, 4), "masked", np.round(masked, 3), "whole", np.round(whole, 3))
