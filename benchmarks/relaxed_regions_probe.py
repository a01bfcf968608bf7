"""Probe (issue 25): would defect regions drawn from the map with only its peak proven be close enough to the exact
ones, and how much faster would a defective frame be?

MODE=relaxed: every frame's cells are proven only where the image score reads them; the harness then gets that map.
MODE=exact: both maps are computed and the exact one returned (region comparison only). MODE=bench: the relaxed map,
no comparison (for `bench`). Prints, per run, how the regions (pixels at or above the threshold) of the two maps
compare. Run as `OMP_NUM_THREADS=1 MODE=relaxed python benchmarks/relaxed_regions_probe.py eval --data ... ` or
`... MODE=bench ... bench`.
"""
import os, sys, json
import numpy as np
from inspectd.detector import decisive_cells as dc, detector as det

MODE = os.environ.get("MODE", "relaxed")
orig_cells, orig_settled = dc.deciding_cells, dc.settled_scores_and_maps
rows = []

def peak_only(operator, maps, top_k, threshold, window):
    return orig_cells(operator, maps, top_k, np.inf, window)

def both(search, grids_of, shape, sigma, centre, top_k, threshold, roi=dc.WHOLE_FRAME):
    dc.deciding_cells = peak_only
    s1, m1 = orig_settled(search, grids_of, shape, sigma, centre, top_k, threshold, roi)
    dc.deciding_cells = orig_cells
    if MODE == "bench":
        return s1, m1
    s2, m2 = orig_settled(search, grids_of, shape, sigma, centre, top_k, threshold, roi)
    for a, b, x, y in zip(m1, m2, s1, s2):
        r, e = a >= threshold, b >= threshold
        assert abs(x - y) < 1e-4 * max(1, abs(y)), (x, y)
        if e.any() or r.any():
            rows.append(dict(exact=int(e.sum()), relaxed=int(r.sum()), both=int((r & e).sum()),
                             rise=float((a - b)[e].max()) / threshold if e.any() else 0.0,
                             over=float((a - b).max()) / threshold))
    return (s1, m1) if MODE == "relaxed" else (s2, m2)

det.settled_scores_and_maps = both
from inspectd.cli import app
if __name__ == "__main__":
  try:
    app(sys.argv[1:])
  finally:
    if rows:
        ex = np.array([r["exact"] for r in rows]); rl = np.array([r["relaxed"] for r in rows]); bo = np.array([r["both"] for r in rows])
        iou = bo / np.maximum(1, ex + rl - bo)
        print(json.dumps(dict(frames=len(rows), iou_min=float(iou.min()), iou_median=float(np.median(iou)),
              iou_mean=float(iou.mean()), extra_share=float((rl - bo).sum() / max(1, ex.sum())),
              missing=int((ex - bo).sum()), max_over=float(max(r["over"] for r in rows)),
              frames_iou_below_099=int((iou < 0.99).sum()), frames_iou_below_095=int((iou < 0.95).sum()))),
              file=sys.stderr)
