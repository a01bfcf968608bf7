"""Plays the JPEG/PNG images of a folder, in name order, at the fps cap; with ``loop``, forever.

Meant for demos and line trials without a camera: point it at a folder of part images.
"""

from __future__ import annotations

from pathlib import Path

from inspectd.config.cameras import CameraConfig
from inspectd.daemon.decode import PayloadError, timed_decode
from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.interfaces import SourceContext
from inspectd.images import image_files
from inspectd_plugins.sources.camera_thread import FrameClock, ThreadedSource

# Only formats whose declared size the decoder checks before decoding (decompression bombs).
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
DEFAULT_FPS = 2.0
MAX_IMAGE_PIXELS = 40_000_000


def frame_files(folder: Path) -> list[Path]:
    """The folder's JPEG/PNG files, sorted by name."""
    return image_files(folder, FRAME_SUFFIXES)


def emit_file(path: Path, context: SourceContext) -> bool:
    """Decode one image file and emit it as a frame (part id: the file stem); a file that cannot be read
    or decoded is answered with an error result instead. True if a frame was emitted."""
    try:
        decoded, decode_ms = timed_decode(path.read_bytes(), MAX_IMAGE_PIXELS, context.decode_min_side())
        captured_at = path.stat().st_mtime
    except (PayloadError, OSError) as error:
        reason = error.reason if isinstance(error, PayloadError) else "read_error"
        context.reject(FrameInfo(source=context.name, part_id=path.stem), reason, str(error))
        return False
    info = FrameInfo(source=context.name, part_id=path.stem, captured_at=captured_at, decode_ms=decode_ms,
                     frame_size=decoded.frame_size)
    context.emit(Frame(info, decoded.image))
    return True


class ImageFolderSource(ThreadedSource):
    def __init__(self, camera: CameraConfig, context: SourceContext) -> None:
        super().__init__(camera, context)
        self._folder = Path(camera.source.uri or "")

    def _run(self) -> None:
        clock = FrameClock(self._camera.fps or DEFAULT_FPS)
        files = frame_files(self._folder) if self._folder.is_dir() else []
        if not files:
            self._context.log.error("source_empty", folder=str(self._folder))
            return
        self._context.set_up(True)
        while not self._stopping.is_set():
            for path in files:
                if not clock.wait_next(self._stopping):
                    break
                emit_file(path, self._context)
            if not self._camera.source.loop:
                break
        self._context.set_up(False)
