"""``products:`` — one entry per product: where its banks live, its threshold and heatmap options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inspectd.config.schema import setting
from inspectd.config.stream_learning import StreamLearningConfig


@dataclass(frozen=True)
class HeatmapConfig:
    enabled: bool = setting(True)
    delivery: Literal["topic", "inline"] = setting("topic", doc="own topic <prefix>/<source>/heatmap, or base64 inside the result JSON")
    format: Literal["jpeg", "png"] = setting("jpeg")
    max_size: int = setting(512, minimum=32, maximum=8192, doc="longer side of the overlay, pixels")
    jpeg_quality: int = setting(85, minimum=10, maximum=100)
    only_failures: bool = setting(False, doc="render the overlay only for failed parts: passes carry no heatmap, "
                                  "saving ~1.3 ms per passing frame and the bandwidth")


@dataclass(frozen=True)
class ProductConfig:
    banks_dir: Path = setting(doc="folder holding <product>/vNNNN/ bank versions (written by inspectd refit)")
    threshold: float | None = setting(None, minimum=0.0, doc="operator override of the bank's calibrated threshold")
    presence_check: bool = setting(True, doc="fail frames that do not show what the goldens show (an empty fixture); "
                                   "off only for a product whose empty fixture looks like the part")
    heatmap: HeatmapConfig = setting(default_factory=HeatmapConfig)
    queue_size: int = setting(16, minimum=1, maximum=10000, doc="frames waiting for this product's detector")
    max_batch: int = setting(4, minimum=1, maximum=64, doc="frames inspected together when a backlog forms")
    reload_poll_s: float = setting(2.0, minimum=0.1, doc="how often banks_dir is checked for a new version")
    detector: dict[str, Any] = setting(default_factory=dict, doc="detector settings `inspectd refit --config` fits "
                                       "with, e.g. {input_size: 320, augmentations: {rotations: 1, hflip: true}}")
    stream_learning: StreamLearningConfig = setting(default_factory=StreamLearningConfig)
