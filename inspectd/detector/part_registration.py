"""The turn that brings a round or squarish part onto the first golden's pose: polar correlation of its edges.

A long part's pose is its long axis (detector/pose.py). A part that is not long (a flange, a disc, a bracket) has no
axis to read, yet where its layout is fixed (bolt holes, a key notch) it has a pose all the same. Round the part's
centre (the centroid of its outline) the frame's edge strength is resampled on ``POLAR_RINGS`` rings of
``POLAR_ANGLES`` angles each; a turn of the part about its centre is a circular shift of every ring, so the shift
that best correlates a frame's rings with the reference's (one FFT per ring) is the frame's turn against it.
The frame is blurred by ``POLAR_BLUR`` of the part's radius first: the correlation follows the part's shapes, not a
surface texture fixed to the camera (a brushed finish, a belt's grain), which would pull every turn towards 0.

Whether it can be trusted is measured on the goldens themselves: with three or more, the turn found from golden i to
j and on from j to k must agree with the turn from i to k (``cycle_error``). Parts that do not hold one layout (a
snack, a bottle seen from above, a cookie) or whose edges do not fix a turn give turns that do not add up, and are
not registered. Over every draw of 4 and 8 goldens (seeds 0-2) of the nine shared categories, the parts that are not
long miss by 3.9 degrees at the least (a tyre seen from the front; fryums, cookies, bottles and metal plates by
16-180), the demo's flange by 0.02.
"""

from __future__ import annotations

import base64
import itertools

import cv2
import numpy as np

from inspectd.detector.part_outline import PartOutline

POLAR_ANGLES = 360
POLAR_RINGS = 24
POLAR_BLUR = 1 / 24  # share of the part's radius: the blur's sigma


def part_centre(outline: PartOutline, frame: np.ndarray) -> tuple[float, float]:
    """The centroid (x, y) of the part's outline on an RGB frame; the frame's centre where none is found."""
    return _centroid(outline.outlines(frame[None])[0])


def part_extent(outline: PartOutline, frame: np.ndarray) -> tuple[tuple[float, float], float]:
    """``part_centre`` and the distance from it of the outline's farthest pixel (1 where there is none), from one
    outline of the frame."""
    inside = outline.outlines(frame[None])[0]
    centre = _centroid(inside)
    rows, columns = np.nonzero(inside)
    if len(rows) == 0:
        return centre, 1.0
    return centre, float(np.sqrt((columns - centre[0]) ** 2 + (rows - centre[1]) ** 2).max())


def _centroid(inside: np.ndarray) -> tuple[float, float]:
    moments = cv2.moments(inside.astype(np.uint8), binaryImage=True)
    if moments["m00"] == 0:
        return (inside.shape[1] - 1) / 2, (inside.shape[0] - 1) / 2
    return moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]


def polar_signature(frame: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    """[POLAR_ANGLES, POLAR_RINGS] float32: the blurred frame's gradient magnitude round ``centre`` out to
    ``radius``, each ring less its mean (a ring's constant part says nothing of a turn), scaled to unit norm."""
    gray = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0),
                            max(1.0, POLAR_BLUR * radius))
    edges = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    rings = cv2.warpPolar(edges, (POLAR_RINGS, POLAR_ANGLES), centre, radius,
                          cv2.WARP_POLAR_LINEAR | cv2.INTER_LINEAR | cv2.WARP_FILL_OUTLIERS)
    rings -= rings.mean(0, keepdims=True)
    return rings / max(float(np.linalg.norm(rings)), 1e-12)


def registered_turn(reference: np.ndarray, signature: np.ndarray) -> float:
    """Degrees (0-360) by which the part of ``signature`` lies turned against ``reference``'s, as ``augment.rotate``
    turns (counter-clockwise on screen): the correlation's peak, refined between its neighbours by a parabola."""
    correlation = np.fft.irfft(np.fft.rfft(reference, axis=0) * np.conj(np.fft.rfft(signature, axis=0)),
                               n=POLAR_ANGLES, axis=0).sum(1)
    peak = int(np.argmax(correlation))
    before, at, after = (correlation[(peak + step) % POLAR_ANGLES] for step in (-1, 0, 1))
    curvature = before - 2 * at + after
    offset = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
    return float(((peak + offset) * 360.0 / POLAR_ANGLES) % 360.0)


def turn_gap(degrees: float) -> float:
    """The angle (0-180) between a turn by ``degrees`` and none."""
    return abs((degrees + 180.0) % 360.0 - 180.0)


def pairwise_turns(signatures: list[np.ndarray]) -> np.ndarray:
    """[K, K] degrees: entry (i, j) the turn of golden j against golden i."""
    count = len(signatures)
    turns = np.zeros((count, count))
    for first, second in itertools.permutations(range(count), 2):
        turns[first, second] = registered_turn(signatures[first], signatures[second])
    return turns


def cycle_error(turns: np.ndarray) -> float:
    """The largest disagreement (degrees) between the turn from i to k and the turns from i to j and j to k, over
    every three goldens: how far the registration strays between frames of the part. 0 for fewer than three."""
    return max((turn_gap(turns[i, j] + turns[j, k] - turns[i, k])
                for i, j, k in itertools.permutations(range(len(turns)), 3)), default=0.0)


def reference_signature(signatures: list[np.ndarray], turns_from_first: np.ndarray) -> np.ndarray:
    """The goldens' signatures, each turned back onto the first golden's pose (to the nearest angle step), averaged:
    what each frame is registered against, with less of any one golden's noise than the first's alone."""
    steps = np.round(np.asarray(turns_from_first) * POLAR_ANGLES / 360.0).astype(int)
    mean = np.mean([np.roll(signature, step, axis=0) for signature, step in zip(signatures, steps)], axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def encode_signature(signature: np.ndarray) -> str:
    """A signature as the manifest keeps it: base64 of its float16 bytes."""
    return base64.b64encode(np.ascontiguousarray(signature, np.float16).tobytes()).decode("ascii")


def decode_signature(text: str) -> np.ndarray:
    """``encode_signature``'s inverse; ValueError where the text is not a signature."""
    values = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), np.float16)
    if values.size != POLAR_ANGLES * POLAR_RINGS:
        raise ValueError(f"a pose reference holds {POLAR_ANGLES * POLAR_RINGS} values, got {values.size}")
    return values.astype(np.float32).reshape(POLAR_ANGLES, POLAR_RINGS)
