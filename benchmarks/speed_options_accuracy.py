"""Accuracy of the bfloat16 fast path against the float32 reference (docs/performance.md).

    python benchmarks/precision_accuracy.py --size 320 --shots 1,4 --seeds 0 [--json out.json]

Runs the eval harness (default method, every shared category) once per precision on the same draws
and prints image and pixel AUROC side by side with their difference.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from inspectd.detector.settings import PRECISIONS, DetectorSettings
from inspectd.evaluation.harness import evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CATEGORIES = ("mvtec_ad/bottle", "mvtec_ad/screw", "visa/fryum", "mpdd_resized512/metal_plate",
              "kolektorsdd/commutator", "lookout_for_vision/cookies")


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
    runs = {precision: evaluate(dirs, shots, seeds, "graphcore",
                                replace(DetectorSettings(), input_size=args.size, precision=precision),
                                progress=lambda r: print(f"  {r.category} K={r.shots} seed={r.seed} "
                                                         f"image AUROC {r.image_auroc:.4f}", flush=True))
            for precision in PRECISIONS}
    print(f"\nsize {args.size}: image / pixel AUROC, float32 vs bfloat16")
    print(f"{'category':<14} {'K':>2} {'seed':>4}  {'img f32':>8} {'img bf16':>8} {'diff':>7}  "
          f"{'pix f32':>8} {'pix bf16':>8} {'diff':>7}")
    for ref, fast in zip(runs["float32"], runs["bfloat16"]):
        pixel = ("      -" * 3 if ref.pixel_auroc is None else
                 f"{ref.pixel_auroc:8.4f} {fast.pixel_auroc:8.4f} {fast.pixel_auroc - ref.pixel_auroc:+7.4f}")
        print(f"{ref.category:<14} {ref.shots:>2} {ref.seed:>4}  {ref.image_auroc:8.4f} {fast.image_auroc:8.4f} "
              f"{fast.image_auroc - ref.image_auroc:+7.4f}  {pixel}")
    if args.json:
        args.json.write_text(json.dumps({p: [asdict(r) for r in rs] for p, rs in runs.items()}, indent=1))


if __name__ == "__main__":
    main()
