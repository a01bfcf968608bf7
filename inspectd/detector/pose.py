"""Each frame turned to its part's long axis and cropped round the part, for parts that are long and thin.

A long part lying at any angle on its frame (a screw, a pin, a shaft) wastes most of a square input on
background and forces the bank to hold the part at every angle. Where the goldens show a part on a background
of its own colour (detector/part_outline.py) that is at least ``MIN_ELONGATION`` times as long as it is wide,
the minimum-area rectangle of each frame's part body (the pixels whose colour lies furthest from the
background's) gives the part's centre and long axis; the frame is turned about that centre so the axis lies along
x, and one fixed window round it (the goldens' largest rectangle plus ``WINDOW_MARGIN``) is resized to the
backbone's input. The part is then seen at a higher resolution for the same input size, and the bank needs
only what the axis leaves open: which end is which (180 degrees) and the axis's error, which refit measures on
the goldens themselves (``axis_error``, ``aligned_rotations``). Not the mirror image across the axis: a mirrored
part (a left-hand thread) is a defect.

A part that is not long but holds one layout (a flange with its bolt holes and key notch) is registered instead: where
four goldens or more turn onto each other consistently (detector/part_registration.py), each frame is turned about
its part's centre onto the first golden's pose and cropped round the part, and the bank holds it within the
registration's error of that pose (no copies about 180 degrees: the turn is read whole). Registration also opens the
structural check (detector/layout.py) to such a part: each place of the turned frame against the goldens' same place.

Maps are scored in the window and turned back onto the frame (at ``frame_shape``), where the outline, the
regions and the overlay read them; what lies outside the window scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import cv2
import numpy as np

from inspectd.detector.augment import rotate
from inspectd.detector.features import input_shape, resize_to
from inspectd.detector.part_outline import PartOutline
from inspectd.detector.part_registration import (cycle_error, decode_signature, encode_signature, pairwise_turns,
                                                 part_centre, part_extent, polar_signature, reference_signature,
                                                 registered_turn)
from inspectd.detector.settings import AugmentationSet, DetectorSettings

# the part's body rectangle at least this many times as long as wide on every golden: below, the long axis is not
# told reliably from a turned part's (round and squarish parts)
MIN_ELONGATION = 2.0
CORE_QUANTILE, CORE_SHARE = 99.0, 0.25
# two goldens or more whose long axes all lie within this many degrees of each other show a part held at a fixed
# angle (a bottle standing upright): turning gains nothing there, and the whole frame keeps the layout's context
FIXED_AXIS_DEGREES = 15.0
# a long part is rigid: its body is as long on every golden, give or take this factor (screws within 1.02, juice
# bottles 1.07 over every draw of 2-8 goldens). A "long" body whose length changes between goldens is a highlight or
# shading taken for the part (a tyre's tread glint: 1.4-4.7), and turning frames to it scatters them
MAX_LENGTH_RATIO = 1.2
# one golden cannot show that the angle is fixed, but a part held in a fixture lies square to the camera: a single
# golden's long axis within this many degrees of the frame's x or y axis is taken as held at that angle (juice
# bottles: every train good within 4.7 degrees; screws, which lie at any angle: 18 % of them)
SQUARE_AXIS_DEGREES = 5.0
WINDOW_MARGIN = 0.1  # share of the part's length left round it on every side of the window
# The bank holds the part in steps of POSE_STEP degrees either side of the axis (a patch within 3 degrees of a copy),
# as far as the axis estimate strays: each golden is turned by ERROR_TEST_TURNS (no multiple of the step) and its axis
# found again; the largest miss against the golden's own axis, turned alike, sets how many steps (at least one, at
# most MAX_POSE_STEPS). A screw's body rectangle snaps between its shaft and a tilt that takes in the head's rim, 12.5
# degrees apart, on 26 of 30 train goods; a clean bar's axis is found again within 0.1 degrees
POSE_STEP = 6.0
ERROR_TEST_TURNS = tuple(7.0 + 15.0 * i for i in range(12))
MAX_POSE_STEPS = 5
# A part that is not long is turned onto the first golden's pose by registration (detector/part_registration.py)
# where at least REGISTERED_GOLDENS goldens show it and their turns add up within REGISTRATION_LIMIT degrees (half a
# pose step: a place at the window's rim then moves about one patch cell, which the structural check's
# reach covers). Three goldens make a single cycle, which fryum's passed by chance on two of three draws (0.8 and 1.7
# degrees); four make four, and fryum's then miss by 16-88 degrees on every draw of 4 and 8 (seeds 0-2)
REGISTERED_GOLDENS = 4
REGISTRATION_LIMIT = POSE_STEP / 2


@dataclass(frozen=True)
class PoseAlignment:
    outline: PartOutline  # finds the part on a frame at frame_shape
    frame_shape: tuple[int, int]  # (height, width) a frame is searched at, and its maps are returned at
    window: tuple[float, float]  # (length, width) of the crop round the part, in frame_shape pixels
    input_shape: tuple[int, int]  # (height, width) the crop is resized to for the backbone
    # the largest miss of the axis estimate on the goldens turned (``axis_error``), or of the registration between
    # goldens (``part_registration.cycle_error``); None: a bank written before it was measured (one step either side)
    axis_error: float | None = None
    # a part that is not long: the goldens' polar signature (``part_registration.encode_signature``) each frame is
    # registered against, and the radius round the part's centre it covers; None: turned to its long axis
    reference: str | None = None
    radius: float | None = None

    @property
    def registered(self) -> bool:
        """Whether frames are turned onto the first golden's pose by registration, not onto a long axis."""
        return self.reference is not None

    @cached_property
    def reference_signature(self) -> np.ndarray:
        return decode_signature(self.reference)

    @property
    def rotations(self) -> tuple[float, ...]:
        """The angles the bank holds each golden at (``aligned_rotations`` of the axis error; a registered part's
        turn is read whole, so without the copies about 180 degrees that an axis needs)."""
        return aligned_rotations(0.0 if self.axis_error is None else self.axis_error, ends=not self.registered)

    def to_dict(self) -> dict:
        data = {"outline": self.outline.to_dict(), "frame_shape": list(self.frame_shape),
                "window": list(self.window), "input_shape": list(self.input_shape), "axis_error": self.axis_error}
        return data if self.reference is None else {**data, "reference": self.reference, "radius": self.radius}

    @classmethod
    def from_dict(cls, data: dict) -> "PoseAlignment":
        """ValueError where a registered pose's reference is not a signature (refused with its bank)."""
        pose = cls(PartOutline.from_dict(data["outline"]), tuple(data["frame_shape"]), tuple(data["window"]),
                   tuple(data["input_shape"]), data.get("axis_error"), data.get("reference"), data.get("radius"))
        if pose.registered:
            pose.reference_signature  # decoded once, here
        return pose

    def centre_and_turn(self, frame: np.ndarray) -> tuple[tuple[float, float], float]:
        """A frame at ``frame_shape`` -> the part's centre and the angle (degrees, as ``cv2.getRotationMatrix2D``
        takes it) that turns the part onto the bank's pose: its long axis onto x, or the first golden's pose."""
        if not self.registered:
            centre, _, degrees = _axis(self.outline.weights(frame))
            return centre, degrees
        centre = part_centre(self.outline, frame)
        return centre, -registered_turn(self.reference_signature, polar_signature(frame, centre, self.radius))

    def placements(self, frames: list[np.ndarray]) -> np.ndarray:
        """Frames at ``frame_shape`` -> [B, 2, 3] affine maps from a frame's pixels to its crop's input pixels."""
        height, width = self.input_shape
        scale = np.array([[width / self.window[0]], [height / self.window[1]]])
        placements = []
        for frame in frames:
            (cx, cy), degrees = self.centre_and_turn(frame)
            matrix = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)
            matrix[:, 2] += (self.window[0] / 2 - cx, self.window[1] / 2 - cy)
            placements.append(matrix * scale)
        return np.stack(placements)

    def crops(self, images: list[np.ndarray], placements: np.ndarray) -> list[np.ndarray]:
        """Full-resolution RGB frames -> their crops at ``input_shape``, sampled from the frame itself. Where the
        crop shrinks the frame, the frame is area-averaged to twice the crop's scale first (a 4K frame is not turned
        whole), turned at that scale and area-averaged down (no aliasing)."""
        crops = []
        height, width = self.input_shape
        for image, placement in zip(images, placements):
            from_image = placement.copy()
            from_image[:, 0] *= self.frame_shape[1] / image.shape[1]
            from_image[:, 1] *= self.frame_shape[0] / image.shape[0]
            zoom = float(np.hypot(*from_image[0, :2]))  # input pixels per frame pixel
            if zoom < 0.5:
                shrink = 2 * zoom
                image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
                from_image[:, :2] /= shrink
                zoom = 0.5
            zoom = min(1.0, zoom)
            canvas = (max(1, round(width / zoom)), max(1, round(height / zoom)))
            turned = cv2.warpAffine(image, from_image / zoom, canvas, flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT_101)
            crops.append(resize_to(turned, self.input_shape))
        return crops

    def cells_on_frame(self, placements: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
        """[B, h, w] float32: 1 for each patch-grid cell of a crop that lies mostly on its frame, 0 for one the
        window takes from beyond the frame's edge (mirrored in, never scored)."""
        cells = []
        for placement in placements:
            on_frame = cv2.warpAffine(np.ones(self.frame_shape, np.float32), placement, self.input_shape[::-1],
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
            cells.append(cv2.resize(on_frame, grid[::-1], interpolation=cv2.INTER_AREA) > 0.5)
        return np.stack(cells).astype(np.float32)

    def on_frames(self, maps: np.ndarray, placements: np.ndarray) -> np.ndarray:
        """Maps [B, h, w] at ``input_shape`` -> [B, H, W] at ``frame_shape`` (0 outside the window)."""
        size = self.frame_shape[::-1]
        return np.stack([cv2.warpAffine(m, p, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
                         for m, p in zip(maps, placements)])

    def frame_side(self) -> int:
        """The longest side a frame needs for its crop not to be upscaled."""
        zoom = max(self.input_shape[1] / self.window[0], self.input_shape[0] / self.window[1])
        return int(np.ceil(max(self.frame_shape) * zoom))


def aligned_augmentations(augmentations: AugmentationSet, rotations: tuple[float, ...]) -> AugmentationSet:
    """The copies a pose-aligned bank holds: the configured gains, shifts and zooms, at ``rotations``
    (``PoseAlignment.rotations``) in place of the configured rotations and flips."""
    return replace(augmentations, rotations=rotations, hflip=False, vflip=False)


def aligned_rotations(axis_error: float, ends: bool = True) -> tuple[float, ...]:
    """The pose copies for a pose estimate that misses by up to ``axis_error`` degrees: 0, and steps of ``POSE_STEP``
    either side as far as ``aligned_span``; with ``ends`` (an axis, which does not tell one end from the other) the
    same about 180. 0 -> (0, 6, -6, 180, 174, 186); 12.5 -> (0, 6, -6, 12, -12, 180, 174, 186, 168, 192); 0 without
    ends -> (0, 6, -6)."""
    steps = round(aligned_span(axis_error) / POSE_STEP)
    offsets = [0.0, *(sign * POSE_STEP * step for step in range(1, steps + 1) for sign in (1.0, -1.0))]
    return (*offsets, *(180.0 - offset for offset in offsets)) if ends else tuple(offsets)


def aligned_span(axis_error: float) -> float:
    """How far either side of the axis (degrees) the pose copies reach: steps of ``POSE_STEP`` until a copy lies within
    half a step of ``axis_error``, one step at least and ``MAX_POSE_STEPS`` at most."""
    return POSE_STEP * min(MAX_POSE_STEPS, max(1, int(np.ceil((axis_error - POSE_STEP / 2) / POSE_STEP))))


def axis_error(golden_frames: list[np.ndarray], outline: PartOutline, own_angles: list[float]) -> float:
    """The largest angle (degrees, 0-90) between the long axis found on a golden turned by each of
    ``ERROR_TEST_TURNS`` and the golden's own axis (``own_angles``, as ``_axis`` found it) turned alike: how far the
    estimate strays between frames of one part. Each golden is padded with its edge (the background) before it is
    turned, so no corner of the part is cut off."""
    misses = []
    for frame, own in zip(golden_frames, own_angles):
        height, width = frame.shape[:2]
        side = int(np.ceil(np.hypot(height, width)))
        top, left = (side - height) // 2, (side - width) // 2
        padded = cv2.copyMakeBorder(frame, top, side - height - top, left, side - width - left, cv2.BORDER_REPLICATE)
        for turn in ERROR_TEST_TURNS:
            # rotate() turns counter-clockwise on screen, which lowers minAreaRect's angle
            found = _axis(outline.weights(rotate(padded, turn, border=cv2.BORDER_REPLICATE)))[2]
            misses.append(axis_spread([found, own - turn]))
    return max(misses)


def fit_pose(golden_frames: list[np.ndarray], outline: PartOutline | None,
             settings: DetectorSettings) -> PoseAlignment | None:
    """Golden frames (RGB uint8, at the shape frames are searched at) and their ``fit_outline`` -> their pose
    alignment, or None where the settings turn it off, no outline fits, a golden's part is not long
    (``MIN_ELONGATION``) and does not register (``fit_registered``), a long part is not as long as on the other
    goldens (``MAX_LENGTH_RATIO``), two goldens or more show it at one angle (``FIXED_AXIS_DEGREES``) or a single
    golden shows it square to the frame (``SQUARE_AXIS_DEGREES``)."""
    if settings.pose == "off" or outline is None:
        return None
    axes = [_axis(outline.weights(frame)) for frame in golden_frames]
    sizes = np.array([size for _, size, _ in axes])
    if sizes[:, 1].min() <= 0.0 or (sizes[:, 0] / sizes[:, 1]).min() < MIN_ELONGATION:
        return fit_registered(golden_frames, outline, settings)
    if sizes[:, 0].max() > MAX_LENGTH_RATIO * sizes[:, 0].min():
        return None
    angles = [degrees for _, _, degrees in axes]
    if len(axes) > 1 and axis_spread(angles) <= FIXED_AXIS_DEGREES:
        return None
    if len(axes) == 1 and off_frame_axes(angles[0]) <= SQUARE_AXIS_DEGREES:
        return None
    margin = 2 * WINDOW_MARGIN * sizes[:, 0].max()
    length, width = (float(side) + margin for side in sizes.max(0))
    shape = input_shape(round(width), round(length), settings.input_size, settings.keep_aspect)
    return PoseAlignment(outline, tuple(golden_frames[0].shape[:2]), (length, width), shape,
                         round(axis_error(golden_frames, outline, angles), 2))


def fit_registered(golden_frames: list[np.ndarray], outline: PartOutline,
                   settings: DetectorSettings) -> PoseAlignment | None:
    """The pose alignment of a part that is not long: each frame turned about its part's centre onto the first
    golden's pose and cropped to the square round the part's farthest outline; None where fewer than
    ``REGISTERED_GOLDENS`` goldens are given or their turns do not add up within ``REGISTRATION_LIMIT``."""
    if len(golden_frames) < REGISTERED_GOLDENS:
        return None
    extents = [part_extent(outline, frame) for frame in golden_frames]
    centres = [centre for centre, _ in extents]
    radius = max(reach for _, reach in extents)
    signatures = [polar_signature(frame, centre, radius) for frame, centre in zip(golden_frames, centres)]
    turns = pairwise_turns(signatures)
    error = cycle_error(turns)
    if error > REGISTRATION_LIMIT:
        return None
    side = 2 * radius
    shape = input_shape(round(side), round(side), settings.input_size, settings.keep_aspect)
    return PoseAlignment(outline, tuple(golden_frames[0].shape[:2]), (side, side), shape, round(error, 2),
                         encode_signature(reference_signature(signatures, turns[0])), round(radius, 2))


def axis_spread(degrees: list[float]) -> float:
    """The largest angle (0-90) between any two of the long axes at ``degrees`` (an axis and its turn by 180 agree)."""
    turns = np.mod(np.asarray(degrees, np.float64), 180.0)
    gaps = np.abs(turns[:, None] - turns[None, :])
    return float(np.minimum(gaps, 180.0 - gaps).max())


def off_frame_axes(degrees: float) -> float:
    """The angle (0-45) between a long axis at ``degrees`` and the nearer of the frame's x and y axes."""
    to_x = axis_spread([degrees, 0.0])
    return min(to_x, 90.0 - to_x)


def _axis(weights: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], float]:
    """A frame's part weights [H, W] (``PartOutline.weights``) -> the part's centre, (length, width) and the angle
    in degrees that turns its long side onto x: the minimum-area rectangle of the pixels whose weight reaches
    ``CORE_SHARE`` of the ``CORE_QUANTILE`` percentile of the nonzero weights (the part's body, not the faint halo of shading round
    it that the outline's colour threshold also takes). The frame's centre, its own sides and 0 where no pixel is
    the part's."""
    positive = weights[weights > 0]
    if len(positive) == 0:
        height, width = weights.shape
        return ((width - 1) / 2, (height - 1) / 2), (float(max(width, height)), float(min(width, height))), 0.0
    core = weights >= CORE_SHARE * np.percentile(positive, CORE_QUANTILE)
    centre, (first, second), degrees = cv2.minAreaRect(cv2.findNonZero(core.astype(np.uint8)))
    if first < second:
        first, second, degrees = second, first, degrees + 90.0
    return (float(centre[0]), float(centre[1])), (float(first), float(second)), float(degrees)
