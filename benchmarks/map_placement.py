"""Image and pixel AUROC of the default detector's maps with the patch grid placed at several centres: the
measured one (inspectd/detector/registration.py) against others, to see where it sits among them
(docs/results.md, "Map registration"). Only the placement changes; the scores searched are the same.

    OMP_NUM_THREADS=1 python benchmarks/map_placement.py --categories visa/fryum,kolektorsdd/commutator \
        [--centres 3.5,0,-4,-8,-12] [--shots 1,4] [--seeds 0]

3.5 is the grid upsampled as an image (the placement before registration). Prints one line per category,
shot count and seed: the centre, then image AUROC (pixel AUROC).
"""

from __future__ import annotations

from seeded_fits import runs_parser, seeded_detectors

from inspectd.detector.registration import STRIDE
from inspectd.detector.scoring import anomaly_maps, image_scores, registered
from inspectd.evaluation.metrics import auroc, pixel_auroc


def main() -> None:
    parser = runs_parser(__doc__.splitlines()[0])
    parser.add_argument("--centres", default="3.5,0,-4,-8,-12", help="comma-separated, input pixels")
    parser.set_defaults(seeds="0")
    args = parser.parse_args()
    centres = [float(c) for c in args.centres.split(",")]
    for name, category, test, shots, detectors in seeded_detectors(args):
        for seed, detector in zip(args.seeds.split(","), detectors):
            patch_scores = detector.index.patch_scores(test)
            whole = anomaly_maps(patch_scores, detector.input_shape, detector.settings.map_sigma())
            results = []
            for i, centre in enumerate([detector.grid_centre, *centres]):
                maps = registered(whole, centre, STRIDE)
                pixel = pixel_auroc(maps, category.test_masks)
                results.append(f"{centre:g}{' (measured)' if i == 0 else ''}: "
                               f"{auroc(image_scores(maps, 1), category.test_labels):.3f}"
                               + ("" if pixel is None else f" ({pixel:.3f})"))
            print(f"{name:30s} shots {shots} seed {seed} " + " | ".join(results), flush=True)


if __name__ == "__main__":
    main()
