"""Camera source over OpenCV VideoCapture: USB index, RTSP/HTTP URL or video file.

Frames are read on the source's own thread. A stream that fails to open or stops delivering is
reopened with exponential backoff (state 'down' meanwhile). A URL is opened through FFmpeg with
``source.open_timeout_s`` and ``source.read_timeout_s`` as its open and read timeouts, so a server that
never answers or stalls mid-stream never holds the thread longer than that; a read that took longer
than the read timeout counts as a stall even if FFmpeg hands back a late frame. Decoding runs on one
thread: FFmpeg's frame threads would hold each frame back by one frame interval per thread. A triggered
stream is read at its own pace with no fps cap, so the frame a trigger takes is the newest one.

A video file plays at its own frame rate (or the fps cap, if lower) and, with ``loop``, is reopened at
its end (so a file removed or replaced meanwhile is noticed: down, then reopened with backoff until it
is back); without, the source ends.
"""

from __future__ import annotations

import time

import cv2

from inspectd.config.cameras import CameraConfig
from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.interfaces import SourceContext
from inspectd_plugins.sources.camera_thread import Backoff, FrameClock, ThreadedSource


class VideoCaptureSource(ThreadedSource):
    def __init__(self, camera: CameraConfig, context: SourceContext) -> None:
        super().__init__(camera, context)
        self._target = camera.source.index if camera.source.index is not None else camera.source.uri
        self._is_file = isinstance(self._target, str) and "://" not in self._target
        self._is_url = isinstance(self._target, str) and not self._is_file
        self._read_timeout_s = camera.source.read_timeout_s
        self._every_frame = camera.trigger.mode == "topic"

    def _open(self) -> cv2.VideoCapture:
        if not self._is_url:
            return cv2.VideoCapture(self._target)
        source = self._camera.source
        return cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, round(source.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, round(source.read_timeout_s * 1000),
            cv2.CAP_PROP_N_THREADS, 1,
        ])

    def _run(self) -> None:
        backoff = Backoff(self._camera.reconnect_min_s, self._camera.reconnect_max_s)
        while not self._stopping.is_set():
            capture = self._open()
            try:
                if not capture.isOpened():
                    self._context.log.warning("source_open_failed", target=str(self._target), retry_s=backoff.delay_s)
                    self._context.set_up(False)
                    self._stopping.wait(backoff.failed())
                    continue
                self._context.set_up(True)
                outcome, frames = self._read_frames(capture)
            finally:
                capture.release()
            if frames:
                backoff.succeeded()
            if outcome == _REOPEN:
                continue
            self._context.set_up(False)
            if outcome == _FINISHED:
                self._context.log.info("source_finished", target=str(self._target))
                return
            self._context.log.warning("source_lost", target=str(self._target), retry_s=backoff.delay_s)
            self._stopping.wait(backoff.failed())

    def _read_frames(self, capture: cv2.VideoCapture) -> tuple[str, int]:
        """Emit frames until the stream fails (lost), a non-looping file ends (finished) or a looping one
        ends (reopen: a file that vanished or was truncated meanwhile then fails to open). Returns the
        outcome and the number of frames read."""
        fps = self._camera.fps
        if self._is_file:
            native = capture.get(cv2.CAP_PROP_FPS) or None
            fps = min(f for f in (fps, native) if f) if (fps or native) else None
        clock = FrameClock(fps)
        frames = 0
        while not self._stopping.is_set():
            if self._is_file and not clock.wait_next(self._stopping):
                return _FINISHED, frames
            started = time.monotonic()
            ok, image_bgr = capture.read()
            if ok and self._is_url and time.monotonic() - started > self._read_timeout_s:
                self._context.log.warning("source_stalled", target=str(self._target),
                                          read_s=round(time.monotonic() - started, 2))
                return _LOST, frames
            if not ok:
                if self._is_file and self._camera.source.loop:
                    return (_REOPEN if frames else _LOST), frames
                return (_FINISHED if self._is_file else _LOST), frames
            frames += 1
            # a live stream is read at its own pace; surplus frames over the cap are skipped unless triggered
            if self._is_file or self._every_frame or clock.due():
                info = FrameInfo(source=self._camera.name, captured_at=time.time())
                self._context.emit(Frame(info, cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)))
        return _FINISHED, frames


_FINISHED, _LOST, _REOPEN = "finished", "lost", "reopen"
