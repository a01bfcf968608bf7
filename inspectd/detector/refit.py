"""Refit one product from a folder of golden images and store the next bank version."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from inspectd.detector.bank import BankError, BankStore, validate_product
from inspectd.detector.calibration import named_unlike_goldens
from inspectd.detector.fit import fit_bank, golden_input_shape, squares_frames
from inspectd.detector.pose import PoseAlignment, aligned_span
from inspectd.detector.settings import WHOLE_FRAME, DetectorSettings
from inspectd.images import image_files, read_rgb
from inspectd.progress import Progress, no_progress

# What one golden's threshold did to good parts at the defaults, nine real categories (docs/results.md): calibrated on
# its own turned copies, 0.365 rejected (0.00-0.96 by category and draw; 1 shot, seeds 0-2, docs/eval/graphcore.json);
# calibrated on half-stride shifts where it has no turned copies, 0.976 (seed 0, docs/eval/ablation/no-rotations.json)
ONE_GOLDEN_THRESHOLDS = {  # the manifest's calibration method -> (where the threshold came from, what it cost)
    "leave-one-group-out": ("its own turned copies",
                            "37 % of good parts rejected on average, 0-96 % by product and draw"),
    "half-stride-shift": ("itself shifted by half a feature cell (no turned copies)", "98 % of good parts rejected"),
}


@dataclass(frozen=True)
class RefitReport:
    product: str
    version_dir: Path
    images: int
    augmented_copies: int
    patches: int
    coreset: int
    threshold: float
    expected_false_reject: float | None
    seconds: float
    roi: tuple[float, float, float, float] = WHOLE_FRAME
    outline_share: float | None = None  # share of a golden frame inside the part's outline; None: no outline
    # (length, width) of the pose-aligned window in the frame's pixels at the input size; None: the whole frame
    pose_window: tuple[float, float] | None = None
    # the manifest's structure block (detector/layout.py); None: no structural check
    structure: dict | None = None
    # (height, width) every frame is squashed to because the goldens differ in shape; None: the first golden's aspect
    squared_to: tuple[int, int] | None = None
    # how far the pose alignment's axis estimate strays on the goldens turned (pose.axis_error, degrees); None: no pose
    pose_axis_error: float | None = None
    pose_registered: bool = False  # turned onto the first golden's pose by registration (a part that is not long)
    calibration_method: str = "leave-one-group-out"  # the manifest's calibration method (detector/fit.py)
    # (file name, hold-out score over the others' median) of each golden unlike the others (calibration.py)
    unlike_goldens: tuple[tuple[str, float], ...] = ()

    def summary(self) -> str:
        expectation = ("" if self.expected_false_reject is None else
                       f" (expect about {self.expected_false_reject:.0%} of good parts rejected until more goldens "
                       "or feedback)")
        region = "" if self.roi == WHOLE_FRAME else (
            f"; inspects only the region of interest {list(self.roi)} (left, top, right, bottom of the frame)")
        outline = "" if self.outline_share is None else (
            f"; the heatmap shows the part's outline ({self.outline_share:.0%} of a golden frame)")
        squared = "" if self.squared_to is None else (
            f"; the goldens differ in shape, so every frame is squashed to "
            f"{self.squared_to[1]} x {self.squared_to[0]} px")
        structure = "" if self.structure is None else (
            f"; structural check on: each place compared with what the goldens show there (the goldens agree place "
            f"by place at {self.structure['agreement']:.2f} of the bank's threshold)")
        images = f"{self.images} golden image{'' if self.images == 1 else 's'}"
        return (f"{self.product}: wrote {self.version_dir} from {images} "
                f"({self.augmented_copies} augmented copies, {self.patches} patches, coreset {self.coreset}), "
                f"threshold {self.threshold:.4f}{expectation}{self._one_golden_warning()}, {self.seconds:.2f} s"
                f"{region}{outline}{self._pose_summary()}{squared}{structure}{self._unlike_warning()}")

    def _unlike_warning(self) -> str:
        return "".join(f"; golden {name} is unlike the others: held out, it scores {ratio:.1f}x their median (a broken "
                       "or wrong part among the goldens is learned as good: check it, and refit without it if it is "
                       "not a good part)" for name, ratio in self.unlike_goldens)

    def _one_golden_warning(self) -> str:
        """With one golden there is no other good part to hold out: the threshold comes from the golden's own copies,
        which match it better than new parts do, so it says what that cost on real parts."""
        if self.images != 1:
            return ""
        source, cost = ONE_GOLDEN_THRESHOLDS[self.calibration_method]
        return (f" (one golden: the threshold comes from {source}, which match it better than new parts do; on nine "
                f"real categories {cost}: add goldens, about 24 % at 4, or feed back good parts it rejects)")

    def _pose_summary(self) -> str:
        if self.pose_window is None:
            return ""
        window = f"cropped to {self.pose_window[0]:.0f} x {self.pose_window[1]:.0f} px round it"
        if self.pose_registered:
            return (f"; each frame is turned about the part's centre onto the first golden's pose and {window}, the "
                    f"bank holding it within {aligned_span(self.pose_axis_error):.0f} degrees of it (the goldens' turns "
                    f"agree within {self.pose_axis_error:.1f} degrees)")
        return (f"; each frame is turned to the part's long axis and {window}, the bank holding it within "
                f"{aligned_span(self.pose_axis_error):.0f} degrees of the axis (found again within "
                f"{self.pose_axis_error:.1f} degrees on the goldens turned)")


DEFAULT_BANKS_DIR = Path("banks")


def product_settings(product: str, config_path: Path | None) -> tuple[Path, DetectorSettings]:
    """The product's banks folder and detector settings from a daemon config (defaults without one).
    ValueError naming the config key when the product or a detector setting is wrong."""
    if config_path is None:
        return DEFAULT_BANKS_DIR, DetectorSettings()
    from inspectd.config import ConfigError, load_config

    try:
        products = load_config(config_path).products
    except ConfigError as error:
        raise ValueError(str(error)) from None
    if product not in products:
        raise ValueError(f"{config_path}: products.{product}: not configured (products: {', '.join(products)})")
    try:
        return products[product].banks_dir, DetectorSettings().with_overrides(products[product].detector)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{config_path}: products.{product}.detector: {error}") from None


def refit_product(product: str, golden_dir: Path, banks_dir: Path,
                  settings: DetectorSettings | None = None, progress: Progress = no_progress) -> RefitReport:
    """Fit ``product``'s bank from the images in ``golden_dir`` and write it as the next version in ``banks_dir``;
    ``progress`` is told of the fit's stages (fit.fit_memory)."""
    validate_product(product)
    started = time.perf_counter()
    paths = image_files(Path(golden_dir)) if Path(golden_dir).is_dir() else []
    if not paths:
        raise BankError(f"no golden images found in {golden_dir}")
    images = [read_rgb(path) for path in paths]
    settings = settings or DetectorSettings()
    bank = fit_bank(images, settings, progress=progress)
    bank.manifest["golden_files"] = [path.name for path in paths]  # which images, beside golden_sha256
    version_dir = BankStore(banks_dir).write(product, bank)
    counts = bank.manifest["counts"]
    pose = None if bank.manifest["pose"] is None else PoseAlignment.from_dict(bank.manifest["pose"])
    return RefitReport(product, version_dir, counts["images"], counts["augmented_copies"], counts["patches"],
                       counts["coreset"], bank.threshold, bank.manifest["calibration"]["expected_false_reject"],
                       time.perf_counter() - started, bank.settings.roi,
                       (bank.manifest["part_outline"] or {}).get("golden_share"),
                       None if pose is None else pose.window, bank.manifest["structure"],
                       golden_input_shape(images, settings) if squares_frames(images, settings) else None,
                       None if pose is None else pose.axis_error, pose is not None and pose.registered,
                       bank.manifest["calibration"]["method"],
                       tuple(named_unlike_goldens(bank.manifest["calibration"], bank.manifest["golden_files"])))
