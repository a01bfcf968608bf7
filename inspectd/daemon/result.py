"""The answer for one frame: a verdict with its evidence, or the reason there is none."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from inspectd.daemon.frame import FrameInfo

Verdict = Literal["pass", "fail", "error", "rejected"]
"""pass/fail: inspected. error: the frame could not be inspected. rejected: no room, try again."""


@dataclass(frozen=True)
class DefectBox:
    x: int
    y: int
    width: int
    height: int
    peak_score: float


@dataclass(frozen=True)
class Heatmap:
    """An encoded overlay image (anomaly map blended over the frame, defect boxes drawn)."""

    data: bytes
    format: Literal["jpeg", "png"]


@dataclass(frozen=True)
class Result:
    info: FrameInfo
    product: str | None
    verdict: Verdict
    score: float | None = None
    calibrated_score: float | None = None
    part_missing: bool | None = None
    threshold: float | None = None
    bank_version: str | None = None
    defects: tuple[DefectBox, ...] = ()
    image_size: tuple[int, int] | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    completed_at: float = field(default_factory=time.time)
    error_reason: str | None = None
    error_message: str | None = None
    heatmap: Heatmap | None = None
    frame_image: np.ndarray | None = field(default=None, repr=False, compare=False)  # kept by the disk sink

    @property
    def answered(self) -> bool:
        """True for pass/fail: the frame was inspected."""
        return self.verdict in ("pass", "fail")

    def to_json(self, heatmap_topic: str | None = None, heatmap_inline: bool = False) -> dict[str, Any]:
        """The result payload documented in docs/mqtt-api.md."""
        payload: dict[str, Any] = {
            "frame_id": self.info.frame_id,
            "part_id": self.info.part_id,
            "source": self.info.source,
            "product": self.product,
            "verdict": self.verdict,
            "score": self.score,
            "calibrated_score": self.calibrated_score,
            "part_missing": self.part_missing,
            "threshold": self.threshold,
            "bank_version": self.bank_version,
            "defects": [vars(box) for box in self.defects],
            "image": {"width": self.image_size[0], "height": self.image_size[1]} if self.image_size else None,
            "latency_ms": {stage: round(ms, 3) for stage, ms in self.latency_ms.items()},
            "timestamps": {
                "captured": self.info.captured_at,
                "received": self.info.received_at,
                "completed": self.completed_at,
            },
        }
        if self.error_reason is not None:
            payload["error"] = {"reason": self.error_reason, "message": self.error_message}
        if self.heatmap is not None:
            payload["heatmap"] = {"format": self.heatmap.format}
            if heatmap_inline:
                payload["heatmap"]["base64"] = base64.b64encode(self.heatmap.data).decode("ascii")
            else:
                payload["heatmap"]["topic"] = heatmap_topic
        return payload


def error_result(info: FrameInfo, verdict: Verdict, reason: str, message: str) -> Result:
    """A result for a frame that was not inspected (verdict 'error' or 'rejected')."""
    elapsed_ms = (time.monotonic() - info.received_monotonic) * 1000.0
    return Result(
        info=info,
        product=info.product,
        verdict=verdict,
        error_reason=reason,
        error_message=message,
        latency_ms={"total": elapsed_ms},
    )
