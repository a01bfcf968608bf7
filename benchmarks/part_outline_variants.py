"""Pixel and image AUROC of the default detector's maps with and without the part's outline, and of its variants
(docs/results.md, "The part's outline").

    OMP_NUM_THREADS=1 python benchmarks/part_outline_variants.py \
        --categories visa/fryum,lookout_for_vision/cookies,mpdd_resized512/metal_plate,kolektorsdd/commutator \
        --shots 1,2,4 --seeds 0,1,2

Each default fit is scored once; its maps are then shown
- ``whole``: over the whole frame (``part_outline: off``);
- ``shipped``: 0 off the outline, with the shipped rules (a map keeps its whole self where its peak lies off the
  part or the outline covers under half the goldens' share; the image score from the whole map);
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
from inspectd.detector.part_outline import PartOutline, fit_outline
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.command import parse_ints
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.evaluation.metrics import auroc, pixel_auroc
from inspectd.images import read_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def variants(outline: PartOutline | None, scores: np.ndarray, maps: np.ndarray,
             frames: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Variant name -> (image scores, maps) for one fit's test maps (see the module docstring)."""
    if outline is None:  # nothing fitted: every variant is the whole map
        return {name: (scores, maps) for name in ("whole", "shipped", "no_rules", "scored_inside")}
    inside = outline.outlines(frames)
    hidden = np.where(inside, maps, 0.0)
    return {"whole": (scores, maps), "shipped": (scores, outline.restrict(maps, frames)),
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
            for variant, (variant_scores, variant_maps) in variants(outline, scores, maps, frames).items():
                print(json.dumps({"variant": variant, "category": name, "shots": shots, "seed": seed,
                                  "outline_fitted": outline is not None,
                                  "image_auroc": round(auroc(variant_scores, category.test_labels), 4),
                                  "pixel_auroc": pixel_auroc(variant_maps, category.test_masks)}), flush=True)


if __name__ == "__main__":
    main()
