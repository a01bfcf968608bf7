"""``storage:`` — optional result files on disk (JSON + overlay image), with retention."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inspectd.config.schema import setting


@dataclass(frozen=True)
class StorageConfig:
    results_dir: Path = setting(doc="results go to <results_dir>/<source>/<YYYY-MM-DD>/<frame_id>.json|.jpg")
    save: Literal["all", "fail", "none"] = setting("all", doc="which results to keep: all, fail (defective and errors), none")
    save_images: bool = setting(True, doc="also write the heatmap overlay image")
    save_frames: bool = setting(True, doc="also keep the frame as decoded (<frame_id>.frame.png) for inspectd feedback")
    retention_days: float = setting(7.0, minimum=0.0, doc="files older than this are deleted; 0 keeps forever")
    max_files: int = setting(100_000, minimum=0, doc="oldest files beyond this count are deleted; 0 = no cap")
    sweep_interval_s: float = setting(60.0, minimum=1.0)
