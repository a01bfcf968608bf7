"""Writes results to ``<results_dir>/<source>/<YYYY-MM-DD>/<frame_id>.json`` (+ overlay image, + the
original frame as ``<frame_id>.frame.png`` for operator feedback).

Retention: files older than ``retention_days`` and the oldest beyond ``max_files`` are deleted by a
sweep thread every ``sweep_interval_s`` (and once more on close). Names come from validated config (source) and generated ids (frame),
never from network input.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from inspectd.daemon.frame_archive import encode_frame, frame_file_name
from inspectd.daemon.interfaces import SinkContext
from inspectd.daemon.result import Result

SECONDS_PER_DAY = 86400.0


class DiskResultSink:
    name = "disk"

    def __init__(self, context: SinkContext) -> None:
        if context.config.storage is None:
            raise ValueError("the disk result sink needs a storage section")
        self._settings = context.config.storage
        self._log = context.log
        self._closing = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_periodically, name="results-retention", daemon=True)
        self._sweeper.start()

    def publish(self, result: Result) -> None:
        if self._settings.save == "none" or (self._settings.save == "fail" and result.verdict == "pass"):
            return
        day = time.strftime("%Y-%m-%d", time.gmtime(result.info.received_at))
        folder = self._settings.results_dir / result.info.source / day
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / result.info.frame_id
        if self._settings.save_images and result.heatmap is not None:
            suffix = ".jpg" if result.heatmap.format == "jpeg" else ".png"
            _write_atomic(stem.with_suffix(suffix), result.heatmap.data)
        if self._settings.save_frames and result.frame_image is not None:
            _write_atomic(folder / frame_file_name(result.info.frame_id), encode_frame(result.frame_image))
        _write_atomic(stem.with_suffix(".json"), json.dumps(result.to_json()).encode())

    def sweep(self) -> None:
        """Delete expired files and the oldest beyond the cap; then empty day folders."""
        files = sorted(_all_files(self._settings.results_dir), key=lambda entry: entry[0])
        expired = 0
        if self._settings.retention_days > 0:
            cutoff = time.time() - self._settings.retention_days * SECONDS_PER_DAY
            expired = next((i for i, (mtime, _) in enumerate(files) if mtime >= cutoff), len(files))
        if self._settings.max_files > 0:
            expired = max(expired, len(files) - self._settings.max_files)
        for _, path in files[:expired]:
            path.unlink(missing_ok=True)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        for folder in self._settings.results_dir.glob("*/*"):
            if folder.is_dir() and folder.name != today and not any(folder.iterdir()):
                folder.rmdir()
        if expired:
            self._log.info("results_swept", deleted=expired, kept=len(files) - expired)

    def close(self) -> None:
        """Stop the sweeper after a last sweep (files are written synchronously)."""
        self._closing.set()
        self._sweeper.join()
        self.sweep()

    def _sweep_periodically(self) -> None:
        while not self._closing.wait(self._settings.sweep_interval_s):
            try:
                self.sweep()
            except OSError:
                self._log.exception("results_sweep_failed", results_dir=str(self._settings.results_dir))


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _all_files(root: Path) -> list[tuple[float, Path]]:
    if not root.is_dir():
        return []
    return [(p.stat().st_mtime, p) for p in root.rglob("*") if p.is_file()]
