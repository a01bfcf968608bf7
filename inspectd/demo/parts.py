"""Generated product images for the demo line.

The demo must run on a fresh machine with no camera and no third-party images, so
it draws its own part: a machined flange (rings, bolt holes, a key notch, brushed
texture) at a random angle and offset under slightly varying light. Defective
copies carry one of a few defect kinds. Everything is drawn here, so the images are
ours to ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DEFECT_KINDS = ("scratch", "dent", "stain", "missing_hole")


@dataclass(frozen=True)
class DemoImage:
    name: str
    image: np.ndarray  # HxWx3 uint8, RGB
    defect: str | None


def draw_part(rng: np.random.Generator, size: int = 320, defect: str | None = None) -> np.ndarray:
    """One flange on a conveyor belt, RGB uint8 of shape (size, size, 3)."""
    belt = rng.normal(70, 6, (size, size)).astype(np.float32)
    belt = cv2.GaussianBlur(belt, (0, 0), 1.2)
    image = np.dstack([belt * 0.95, belt, belt * 1.05])

    part = np.zeros((size, size), np.float32)
    centre = np.array([size / 2, size / 2]) + rng.uniform(-6, 6, 2)
    radius = size * 0.38
    angle = rng.uniform(0, 360)
    c = tuple(int(v) for v in centre)
    cv2.circle(part, c, int(radius), 1.0, -1, cv2.LINE_AA)
    mask = part.copy()
    # brushed metal: fine streaks, part of the part's surface, so they turn with it
    streaks = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), sigmaX=6, sigmaY=0.6)
    streaks = cv2.warpAffine(streaks, cv2.getRotationMatrix2D(c, -angle, 1.0), (size, size),
                             borderMode=cv2.BORDER_REFLECT_101)
    metal = 175 + 12 * streaks
    for ring_r, shade in ((0.92, -35), (0.62, 25), (0.30, -60)):
        cv2.circle(metal, c, int(radius * ring_r), 0, 2, cv2.LINE_AA)
        ring = np.zeros_like(part)
        cv2.circle(ring, c, int(radius * ring_r), 1.0, 3, cv2.LINE_AA)
        metal += shade * ring
    bore = np.zeros_like(part)
    cv2.circle(bore, c, int(radius * 0.18), 1.0, -1, cv2.LINE_AA)
    holes = np.zeros_like(part)
    hole_angles = [angle + k * 60 for k in range(6)]
    if defect == "missing_hole":
        hole_angles.pop(int(rng.integers(0, 6)))
    for a in hole_angles:
        p = centre + radius * 0.77 * np.array([np.cos(np.radians(a)), np.sin(np.radians(a))])
        cv2.circle(holes, tuple(int(v) for v in p), int(radius * 0.08), 1.0, -1, cv2.LINE_AA)
    notch_dir = np.array([np.cos(np.radians(angle + 30)), np.sin(np.radians(angle + 30))])
    notch = np.zeros_like(part)
    tip = centre + notch_dir * radius
    cv2.circle(notch, tuple(int(v) for v in tip), int(radius * 0.09), 1.0, -1, cv2.LINE_AA)
    mask = np.clip(mask - bore - holes - notch, 0, 1)

    light = rng.uniform(0.9, 1.1)
    gradient = np.linspace(-8, 8, size, dtype=np.float32)[None, :] * rng.uniform(-1, 1)
    metal = (metal + gradient) * light
    if defect is not None and defect != "missing_hole":
        metal = _add_surface_defect(rng, metal, centre, radius, defect)
    shadow = cv2.GaussianBlur(mask, (0, 0), 4)
    for ch in range(3):
        image[..., ch] = image[..., ch] * (1 - 0.5 * shadow) * (1 - mask) + metal * mask
    image += rng.normal(0, 2.0, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _add_surface_defect(
    rng: np.random.Generator, metal: np.ndarray, centre: np.ndarray, radius: float, defect: str
) -> np.ndarray:
    where_angle = rng.uniform(0, 2 * np.pi)
    where = centre + radius * rng.uniform(0.4, 0.55) * np.array([np.cos(where_angle), np.sin(where_angle)])
    overlay = np.zeros_like(metal)
    if defect == "scratch":
        direction = rng.uniform(0, np.pi)
        half = radius * rng.uniform(0.15, 0.3) * np.array([np.cos(direction), np.sin(direction)])
        a, b = (where - half).astype(int), (where + half).astype(int)
        cv2.line(overlay, tuple(int(v) for v in a), tuple(int(v) for v in b), -90.0, 3, cv2.LINE_AA)
    elif defect == "dent":
        cv2.circle(overlay, tuple(int(v) for v in where), int(radius * 0.07), -70.0, -1, cv2.LINE_AA)
        overlay = cv2.GaussianBlur(overlay, (0, 0), 2)
    elif defect == "stain":
        axes = (int(radius * rng.uniform(0.06, 0.12)), int(radius * rng.uniform(0.03, 0.06)))
        cv2.ellipse(overlay, tuple(int(v) for v in where), axes, rng.uniform(0, 180), 0, 360, -60.0, -1, cv2.LINE_AA)
        overlay = cv2.GaussianBlur(overlay, (0, 0), 3)
    else:
        raise ValueError(f"unknown defect kind {defect!r}; expected one of {DEFECT_KINDS}")
    return metal + overlay


def generate_line(seed: int, golden: int, good: int, defective: int, size: int = 320) -> dict[str, list[DemoImage]]:
    """Golden images plus a shuffled stream of good and defective parts, reproducible per seed."""
    rng = np.random.default_rng(seed)
    golden_images = [DemoImage(f"golden_{i:02d}", draw_part(rng, size), None) for i in range(golden)]
    kinds: list[str | None] = [None] * good + [DEFECT_KINDS[i % len(DEFECT_KINDS)] for i in range(defective)]
    order = rng.permutation(len(kinds))
    stream = [
        DemoImage(f"part_{n:03d}_{kinds[i] or 'good'}", draw_part(rng, size, kinds[i]), kinds[i])
        for n, i in enumerate(order)
    ]
    return {"golden": golden_images, "stream": stream}


def write_line(directory: Path, seed: int = 7, golden: int = 8, good: int = 16, defective: int = 8) -> dict[str, Path]:
    """Write the demo line's images as PNG under directory/golden and directory/stream."""
    folders = {}
    for group, images in generate_line(seed, golden, good, defective).items():
        folder = directory / group
        folder.mkdir(parents=True, exist_ok=True)
        for item in images:
            cv2.imwrite(str(folder / f"{item.name}.png"), cv2.cvtColor(item.image, cv2.COLOR_RGB2BGR))
        folders[group] = folder
    return folders
