"""Image and pixel AUROC when each test frame is also scored turned by 180 degrees (a test-time view), its
map turned back and averaged with the frame's (docs/results.md, "Map registration").

    OMP_NUM_THREADS=1 python benchmarks/test_time_views.py --categories mvtec_ad/screw,visa/fryum \
        [--shots 1,4] [--seeds 0,1,2]

The bank already holds every golden turned by 15 degree steps, so a turned frame is covered as well as
the frame itself; what differs is where the stride-8 grid falls on the part and how the backbone's
padding meets its edges. A good patch's distance depends on those by chance, a defect's does not:
averaging the views should lower the goods' noise peaks more than the defects'. Rules printed per
category and shot count (mean over the seeds): ``frame`` (the default), ``rot180`` (that view alone: a
check that a turned frame scores as well), ``mean2`` (the mean of the two maps).
"""

from __future__ import annotations

import numpy as np
from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.features import patch_features, resize_to, to_batch
from inspectd.detector.registration import STRIDE
from inspectd.detector.scoring import anomaly_maps, image_scores, registered
from inspectd.evaluation.features_cache import BATCH
from inspectd.evaluation.metrics import auroc, pixel_auroc


def turned_features(detector, frames: list[np.ndarray], quarter_turns: int) -> np.ndarray:
    """Patch features of every frame (already at the input shape) turned by ``quarter_turns`` x 90 degrees."""
    settings = detector.settings
    turned = [np.ascontiguousarray(np.rot90(frame, quarter_turns)) for frame in frames]
    return np.concatenate([
        patch_features(detector.backbone, to_batch(turned[i:i + BATCH], detector.backbone), settings.precision,
                       settings.feature_norm_power) for i in range(0, len(turned), BATCH)])


def _view_maps(detector, features: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Anomaly maps of a view's features, turned back onto the frame. A cell of the turned grid describes the
    turned pixel ``8 j + c``; turned back by 180 degrees that is pixel ``8 j + 7 - c`` of the frame."""
    grid = np.ascontiguousarray(np.rot90(detector.index.patch_scores(features), -quarter_turns, axes=(1, 2)))
    centre = detector.grid_centre if quarter_turns == 0 else STRIDE - 1 - detector.grid_centre
    return registered(anomaly_maps(grid, detector.input_shape, detector.settings.map_sigma()), centre, STRIDE)


def main() -> None:
    args = runs_parser(__doc__.splitlines()[0]).parse_args()
    totals: dict[tuple[int, str], list[tuple[float, float | None]]] = {}
    for name, category, test, shots, detectors in seeded_detectors(args):
        first = detectors[0]
        frames = [resize_to(image, first.input_shape) for image in category.test_images]
        views = {"frame": (0, test), "rot180": (2, turned_features(first, frames, 2))}
        per_rule: dict[str, list[tuple[float, float | None]]] = {}
        for detector in detectors:
            maps = {view: _view_maps(detector, features, turns) for view, (turns, features) in views.items()}
            combos = {"frame": ["frame"], "rot180": ["rot180"], "mean2": ["frame", "rot180"]}
            for rule, members in combos.items():
                fused = np.mean([maps[m] for m in members], axis=0)
                per_rule.setdefault(rule, []).append(
                    (auroc(image_scores(fused, 1), category.test_labels), pixel_auroc(fused, category.test_masks)))
        line = []
        for rule, values in per_rule.items():
            image = float(np.mean([v[0] for v in values]))
            pixel = None if values[0][1] is None else float(np.mean([v[1] for v in values]))
            totals.setdefault((shots, rule), []).append((image, pixel))
            line.append(f"{rule} {image:.3f}" + ("" if pixel is None else f" ({pixel:.3f})"))
        print(f"{name:32s} shots {shots} " + " | ".join(line), flush=True)
    for (shots, rule), values in totals.items():
        pixels = [v[1] for v in values if v[1] is not None]
        print(f"mean shots {shots} {rule}: image {np.mean([v[0] for v in values]):.4f}"
              + (f" pixel {np.mean(pixels):.4f}" if pixels else ""))


if __name__ == "__main__":
    main()
