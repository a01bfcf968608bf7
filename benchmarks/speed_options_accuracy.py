"""Accuracy of each speed option against the float32 reference path (docs/performance.md).

    python benchmarks/speed_options_accuracy.py --size 320 --shots 1,4 --seeds 0 [--json out.json]

Runs the eval harness (default method, every shared category) once per configuration on the same
draws and prints image and pixel AUROC of each option beside the reference's, with the difference.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation.harness import EvalResult, evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CATEGORIES = ("mvtec_ad/bottle", "mvtec_ad/screw", "visa/fryum", "mpdd_resized512/metal_plate",
              "kolektorsdd/commutator", "lookout_for_vision/cookies")
CONFIGS = {
    "reference": {"precision": "float32", "search": "exact"},
    "shortlist": {"precision": "float32", "search": "shortlist"},
    "bf16+shortlist": {"precision": "bfloat16", "search": "shortlist"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=DetectorSettings().input_size)
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shots = [int(s) for s in args.shots.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    dirs = [args.data / name for name in CATEGORIES]
    runs = {name: evaluate(dirs, shots, seeds, "graphcore",
                           replace(DetectorSettings(), input_size=args.size, **changes),
                           progress=lambda r, name=name: print(f"  {name} {r.category} K={r.shots} seed={r.seed} "
                                                               f"image AUROC {r.image_auroc:.4f}", flush=True))
            for name, changes in CONFIGS.items()}
    for name in list(CONFIGS)[1:]:
        print(f"\nsize {args.size}: image / pixel AUROC, reference vs {name}")
        print(_table(runs["reference"], runs[name]))
    if args.json:
        args.json.write_text(json.dumps({name: [asdict(r) for r in rs] for name, rs in runs.items()}, indent=1))


def _table(reference: list[EvalResult], option: list[EvalResult]) -> str:
    lines = [f"{'category':<28} {'K':>2} {'seed':>4}  {'img ref':>8} {'img opt':>8} {'diff':>7}  "
             f"{'pix ref':>8} {'pix opt':>8} {'diff':>7}"]
    for ref, opt in zip(reference, option):
        pixel = ("       -" * 2 + "       -" if ref.pixel_auroc is None else
                 f"{ref.pixel_auroc:8.4f} {opt.pixel_auroc:8.4f} {opt.pixel_auroc - ref.pixel_auroc:+7.4f}")
        lines.append(f"{ref.category:<28} {ref.shots:>2} {ref.seed:>4}  {ref.image_auroc:8.4f} "
                     f"{opt.image_auroc:8.4f} {opt.image_auroc - ref.image_auroc:+7.4f}  {pixel}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
