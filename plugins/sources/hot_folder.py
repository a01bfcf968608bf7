"""Hot folder: every JPEG/PNG file dropped into the folder is one part, inspected once.

A file is taken when it has not changed for ``settle_s`` (copy finished), then moved to ``done/`` (or
``failed/`` if it cannot be decoded) inside the folder. The part id is the file name without suffix.
Options (``source.options``): ``poll_s`` (default 0.5), ``settle_s`` (default 0.5).
"""

from __future__ import annotations

import time
from pathlib import Path

from inspectd.config.cameras import CameraConfig
from inspectd.daemon.interfaces import SourceContext
from inspectd_plugins.sources.camera_thread import ThreadedSource
from inspectd_plugins.sources.image_folder import emit_file, frame_files


class HotFolderSource(ThreadedSource):
    delivers_parts = True

    def __init__(self, camera: CameraConfig, context: SourceContext) -> None:
        super().__init__(camera, context)
        self._folder = Path(camera.source.uri or "")
        self._poll_s = float(camera.source.options.get("poll_s", 0.5))
        self._settle_s = float(camera.source.options.get("settle_s", 0.5))

    def _run(self) -> None:
        for name in ("done", "failed"):
            (self._folder / name).mkdir(parents=True, exist_ok=True)
        self._context.set_up(True)
        while not self._stopping.wait(self._poll_s):
            settled_before = time.time() - self._settle_s
            for path in frame_files(self._folder):
                if self._stopping.is_set():
                    break
                if path.stat().st_mtime <= settled_before:
                    self._take(path)
        self._context.set_up(False)

    def _take(self, path: Path) -> None:
        emitted = emit_file(path, self._context)
        path.replace(self._folder / ("done" if emitted else "failed") / path.name)
