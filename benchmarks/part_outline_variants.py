"""Pixel and image AUROC of the default detector's maps with and without the part's outline, and of its variants
(docs/results.md, "The part's outline").

    OMP_NUM_THREADS=1 python benchmarks/part_outline_variants.py \
        --categories visa/fryum,lookout_for_vision/cookies,mpdd_resized512/metal_plate,kolektorsdd/commutator \
        --shots 1,2,4 --seeds 0,1,2

Each default fit is scored once; its maps are then shown
- ``whole``: over the whole frame (``part_outline: off``);
- ``shipped``: 0 off the outline, with the shipped rules (where the map's peak lies off the part above the
  threshold, the region above the threshold that holds it stays; a map keeps its whole self where the outline
  covers under half the goldens' share; the image score from the whole map);
- ``peak_whole``: the rules before 2026-12-03 (a map whose peak lies off the part keeps its whole self);
- ``above_threshold``: 0 off the outline where the map is at or below the threshold (every region above it kept);
- ``no_rules``: 0 off the outline always (the image score still from the whole map);
- ``scored_inside``: 0 off the outline always and the image score taken inside it (an automatic region of
  interest).
Prints one JSON line per variant, category, shot count and seed.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from inspectd.detector.detector import Detector
from inspectd.detector.embedder import embed
from inspectd.detector.fit import fit_memory, scoring_bank
from inspectd.detector.part_outline import PartOutline, fit_outline, hidden_outside
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.command import parse_ints
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc, pixel_auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


VARIANTS = ("whole", "shipped", "peak_whole", "above_threshold", "no_rules", "scored_inside")


def variants(outline: PartOutline | None, scores: np.ndarray, maps: np.ndarray, frames: np.ndarray,
             threshold: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Variant name -> (image scores, maps) for one fit's test maps (see the module docstring)."""
    if outline is None:  # nothing fitted: every variant is the whole map
        return {name: (scores, maps) for name in VARIANTS}
    inside = outline.outlines(frames)
    hidden = np.where(inside, maps, 0.0)
    cuts = outline.applied(frames)
    applied = np.array([cut is not None for cut in cuts])[:, None, None]
    peak_inside = inside.reshape(len(maps), -1)[np.arange(len(maps)), maps.reshape(len(maps), -1).argmax(1)]
    peak_whole = np.where(applied & peak_inside[:, None, None], hidden, maps)
    above = np.where(applied & ~inside & (maps <= threshold), 0.0, maps)
    return {"whole": (scores, maps), "shipped": (scores, hidden_outside(maps, cuts, threshold)),
            "peak_whole": (scores, peak_whole), "above_threshold": (scores, above),
            "no_rules": (scores, hidden), "scored_inside": (hidden.reshape(len(hidden), -1).max(1), hidden)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", required=True, help="comma-separated, under --data")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding the categories")
    parser.add_argument("--shots", default="1,4", help="comma-separated golden counts")
    parser.add_argument("--seeds", default="0", help="comma-separated draws (METHOD.md section 6)")
    args = parser.parse_args()
    settings = DetectorSettings()
    for name in args.categories.split(","):
        category = load_category(args.data / name)
        cache = FeatureCache(settings, read_rgb(category.train_files[0]))
        test, _ = cache.test(category.test_images)
        frames = np.stack(cache.test_frames(category.test_images))
        for shots, seed in itertools.product(parse_ints(args.shots), parse_ints(args.seeds)):
            seeded = replace(settings, seed=seed)
            goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), shots, seed)]
            fitted = fit_memory(lambda i, augmentations: embed(cache.golden(goldens[i], augmentations)[0],
                                                               seeded.embedder), shots, seeded, cache.shape)
            scores, maps = Detector(scoring_bank(fitted, seeded, shots)).score_maps(embed(test, seeded.embedder), {})
            outline = fit_outline(np.stack([cache.golden_frame(path) for path in goldens]))
            for variant, (variant_scores, variant_maps) in variants(outline, scores, maps, frames,
                                                                        fitted.threshold).items():
                print(json.dumps({"variant": variant, "category": name, "shots": shots, "seed": seed,
                                  "outline_fitted": outline is not None,
                                  "image_auroc": round(auroc(variant_scores, category.test_labels), 4),
                                  "pixel_auroc": pixel_auroc(variant_maps, category.test_masks)}), flush=True)


if __name__ == "__main__":
    main()
