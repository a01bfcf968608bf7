"""GenICam camera source (GigE Vision, USB3 Vision) over Aravis: ``source.type: genicam``.

``source.uri`` names the camera: its Aravis id (``arv-tool-0.8`` lists them), serial number or IP
address. ``source.genicam`` sets pixel format, region, exposure, gain, frame rate and further features at
every (re)connection; a feature the camera lacks or a value it refuses stops the source with an error
naming the feature (retrying would not help).

Three ways to run:
- free-running (``trigger.mode: free_run``): the camera streams at its frame rate; frames the camera made
  but that never arrived whole (frame-id gaps, incomplete buffers) are counted in
  ``inspectd_camera_frames_missed_total``, frames the detector has no time for are dropped as usual;
- software-triggered (``trigger.mode: topic``): each message on the trigger topic fires the camera's
  software trigger and the part is answered with the first frame exposed after it, never a buffered one:
  the stream's queue is emptied first, and a frame only counts if its timestamps are later than the
  trigger (the host's arrival time always, the camera's own time too when its clock is the host's);
- hardware-triggered (``genicam.hardware_trigger: Line0``): the camera exposes on its trigger line and
  every frame it sends is a part (never dropped).

A camera that cannot be reached, stops sending (free-running: ``read_timeout_s``) or stops answering
control reads (triggered) is down and reconnected with exponential backoff.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from typing import Any, get_args

from inspectd.config.cameras import CameraConfig
from inspectd.config.genicam import GenicamConfig, PixelFormat
from inspectd.daemon.frame import Frame, FrameInfo
from inspectd.daemon.interfaces import SourceContext
from inspectd.daemon.trigger import parse_trigger
from inspectd_plugins.sources.aravis_binding import load_aravis
from inspectd_plugins.sources.camera_thread import Backoff, ThreadedSource
from inspectd_plugins.sources.genicam_pixels import PixelConverter
from inspectd_plugins.sources.genicam_settings import CameraSettingError, apply_settings

POLL_US = 100_000
"""How long one wait for a buffer or a trigger lasts, so ``stop`` is noticed within it."""
HOST_CLOCK_TOLERANCE_NS = 1_000_000_000
"""A camera whose timestamps are within this of the host's clock keeps host time (PTP, the simulator)."""
FRAME_ID_WRAP = 65_536
"""GigE Vision 1.x block ids are 16 bits and skip 0 when they wrap."""


class GenicamSource(ThreadedSource):
    fires_trigger = True

    @staticmethod
    def delivers_parts(camera: CameraConfig) -> bool:
        """Hardware-triggered: every frame is a part."""
        return camera.source.genicam is not None and camera.source.genicam.hardware_trigger is not None

    def __init__(self, camera: CameraConfig, context: SourceContext) -> None:
        super().__init__(camera, context)
        self._aravis, self._glib_error = load_aravis()
        self._pixels = PixelConverter(self._aravis)
        self._settings = camera.source.genicam or GenicamConfig()
        self._software_trigger = camera.trigger.mode == "topic"
        self._triggers: queue.Queue[FrameInfo] = queue.Queue()
        self._connected = False
        self._last_frame_id: int | None = None
        self._missed = context.metrics.camera_frames_missed.labels(camera.name) if context.metrics else None

    def on_trigger(self, topic: str, payload: bytes) -> None:
        """A PLC trigger (MQTT thread): queued for the acquisition thread, answered 'no_frame' if down."""
        part_id, product = parse_trigger(payload)
        info = FrameInfo(source=self._camera.name, part_id=part_id, product=product)
        if not self._connected:
            self._context.reject(info, "no_frame", "the camera is not connected")
            return
        self._triggers.put(info)

    # -- connection -----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = Backoff(self._camera.reconnect_min_s, self._camera.reconnect_max_s)
        target = self._camera.source.uri
        while not self._stopping.is_set():
            try:
                camera, stream, applied = self._connect()
            except CameraSettingError as error:
                self._context.log.error("camera_setting_failed", target=target, feature=error.feature,
                                        value=str(error.value), error=error.reason)
                self._context.set_up(False)
                return
            except self._glib_error as error:
                self._context.log.warning("source_open_failed", target=target, error=error.message,
                                          retry_s=backoff.delay_s)
                self._context.set_up(False)
                self._stopping.wait(backoff.failed())
                continue
            self._context.log.info("camera_connected", target=target, model=camera.get_model_name(), **applied)
            backoff.succeeded()
            self._set_connected(True)
            try:
                lost = self._acquire(camera, stream)
            except self._glib_error as error:
                lost = error.message
            finally:
                self._set_connected(False)
            if not lost:
                self._stop_acquisition(camera)
            # Dropped now, not at the next connection: a lingering device object keeps sending heartbeats
            # and would take control of the camera again the moment it comes back.
            del camera, stream
            if lost:
                self._context.log.warning("source_lost", target=target, error=lost, retry_s=backoff.delay_s)
                self._stopping.wait(backoff.failed())

    def _connect(self) -> tuple[Any, Any, dict[str, Any]]:
        camera = self._aravis.Camera.new(self._camera.source.uri)
        applied = apply_settings(camera, self._aravis, self._glib_error, self._settings, self._software_trigger)
        if not self._pixels.supports(camera.get_pixel_format()):
            converted = ", ".join(get_args(PixelFormat))
            raise CameraSettingError("PixelFormat", applied["pixel_format"],
                                     f"inspectd converts only {converted}: set source.genicam.pixel_format")
        stream = camera.create_stream(None, None)
        payload = camera.get_payload()
        for _ in range(self._settings.buffers):
            stream.push_buffer(self._aravis.Buffer.new_allocate(payload))
        self._last_frame_id = None
        camera.start_acquisition()
        return camera, stream, applied

    def _stop_acquisition(self, camera: Any) -> None:
        try:
            camera.stop_acquisition()
        except self._glib_error as error:
            self._context.log.warning("camera_stop_failed", error=error.message)

    def _set_connected(self, connected: bool) -> None:
        """Also answers triggers still queued (one may slip in as the camera is lost): a part is never
        answered with a frame from a later connection."""
        self._connected = connected
        self._context.set_up(connected)
        while not self._triggers.empty():
            self._context.reject(self._triggers.get_nowait(), "no_frame", "the camera was lost")

    # -- acquisition ----------------------------------------------------------------------------
    def _acquire(self, camera: Any, stream: Any) -> str | None:
        """Deliver frames until stopped (None) or the camera is lost (the reason)."""
        if self._software_trigger:
            return self._answer_triggers(camera, stream)
        free_running = self._settings.hardware_trigger is None
        read_timeout_s = self._camera.source.read_timeout_s
        last_contact = time.monotonic()
        while not self._stopping.is_set():
            buffer = stream.timeout_pop_buffer(POLL_US)
            if buffer is None:
                if time.monotonic() - last_contact > read_timeout_s:
                    if free_running:
                        return f"no frame for {read_timeout_s} s"
                    camera.get_payload()  # hardware-triggered: quiet between parts; a control read: still there?
                    last_contact = time.monotonic()
                continue
            try:
                frame = self._frame(buffer, FrameInfo(source=self._camera.name))
            finally:
                stream.push_buffer(buffer)
            if frame is not None:
                last_contact = time.monotonic()
                self._context.emit(frame)
        return None

    def _answer_triggers(self, camera: Any, stream: Any) -> str | None:
        read_timeout_s = self._camera.source.read_timeout_s
        last_contact = time.monotonic()
        while not self._stopping.is_set():
            try:
                info = self._triggers.get(timeout=POLL_US / 1e6)
            except queue.Empty:
                if time.monotonic() - last_contact > read_timeout_s:
                    camera.get_payload()  # a control read: raises when the camera is gone
                    last_contact = time.monotonic()
                continue
            frame = self._fresh_frame(camera, stream, info)
            last_contact = time.monotonic()
            if frame is None:
                self._context.reject(info, "no_frame",
                                     f"no frame within {self._settings.trigger_timeout_s} s of the trigger")
                camera.get_payload()
            else:
                self._context.emit(frame)
        return None

    def _fresh_frame(self, camera: Any, stream: Any, info: FrameInfo) -> Frame | None:
        """Fire the software trigger and wait for the first whole frame exposed after it."""
        while (stale := stream.try_pop_buffer()) is not None:
            stream.push_buffer(stale)
        fired_ns = time.time_ns()
        camera.software_trigger()
        deadline = time.monotonic() + self._settings.trigger_timeout_s
        while (remaining := deadline - time.monotonic()) > 0 and not self._stopping.is_set():
            buffer = stream.timeout_pop_buffer(max(1, round(min(remaining, POLL_US / 1e6) * 1e6)))
            if buffer is None:
                continue
            try:
                if self._exposed_after(buffer, fired_ns):
                    frame = self._frame(buffer, info)
                    if frame is not None:
                        return frame
            finally:
                stream.push_buffer(buffer)
        return None

    @staticmethod
    def _exposed_after(buffer: Any, fired_ns: int) -> bool:
        arrived_ns, camera_ns = buffer.get_system_timestamp(), buffer.get_timestamp()
        host_clock = abs(camera_ns - arrived_ns) < HOST_CLOCK_TOLERANCE_NS
        return arrived_ns >= fired_ns and (not host_clock or camera_ns >= fired_ns)

    def _frame(self, buffer: Any, info: FrameInfo) -> Frame | None:
        """The buffer as a frame, or None if it is incomplete. Missed frames are counted from the gaps
        between whole frames' ids: an incomplete buffer's id may be wrong (its leader packet lost)."""
        if buffer.get_status() != self._aravis.BufferStatus.SUCCESS:
            return None
        self._count_gap(buffer.get_frame_id())
        image = self._pixels.to_rgb(buffer)
        arrived_ns, camera_ns = buffer.get_system_timestamp(), buffer.get_timestamp()
        captured_ns = camera_ns if abs(camera_ns - arrived_ns) < HOST_CLOCK_TOLERANCE_NS else arrived_ns
        info = dataclasses.replace(info, captured_at=captured_ns / 1e9, frame_size=(image.shape[1], image.shape[0]))
        return Frame(info, image)

    def _count_gap(self, frame_id: int) -> None:
        last, self._last_frame_id = self._last_frame_id, frame_id
        if last is None or frame_id == last:
            return
        if frame_id > last:
            self._count_missed(frame_id - last - 1)
        elif last < FRAME_ID_WRAP:
            self._count_missed((FRAME_ID_WRAP - 1 - last) + (frame_id - 1))

    def _count_missed(self, frames: int) -> None:
        if self._missed is not None and frames > 0:
            self._missed.inc(frames)
