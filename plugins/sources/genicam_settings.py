"""Apply a camera's ``source.genicam`` settings through Aravis, naming the feature that fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspectd.config.genicam import GenicamConfig


class CameraSettingError(RuntimeError):
    """The camera lacks a feature or refused a value: retrying cannot help, the config must change."""

    def __init__(self, feature: str, value: Any, reason: str) -> None:
        self.feature, self.value, self.reason = feature, value, reason
        super().__init__(f"camera feature {feature} = {value!r}: {reason}")


def apply_settings(camera: Any, aravis: Any, glib_error: type[Exception], settings: GenicamConfig,
                   software_trigger: bool) -> dict[str, Any]:
    """Set pixel format, region, exposure, gain, frame rate, extra features and the trigger, in that
    order; returns what the camera reports back (it may round). Raises :class:`CameraSettingError`."""
    steps: list[tuple[str, Any, Callable[[], Any]]] = []
    if settings.pixel_format is not None:
        steps.append(("PixelFormat", settings.pixel_format,
                      lambda: camera.set_pixel_format_from_string(settings.pixel_format)))
    if (region := settings.region) is not None:
        steps.append(("OffsetX/OffsetY/Width/Height", (region.x, region.y, region.width, region.height),
                      lambda: _set_region(camera, region.x, region.y, region.width, region.height)))
    if settings.exposure_us is not None:
        steps.append(("ExposureTime", settings.exposure_us, lambda: camera.set_exposure_time(settings.exposure_us)))
    if settings.gain is not None:
        steps.append(("Gain", settings.gain, lambda: camera.set_gain(settings.gain)))
    if settings.frame_rate is not None:
        steps.append(("AcquisitionFrameRate", settings.frame_rate, lambda: camera.set_frame_rate(settings.frame_rate)))
    for name, value in settings.features.items():
        steps.append((name, value, lambda name=name, value=value: _set_feature(camera, name, value)))
    trigger_source = "Software" if software_trigger else settings.hardware_trigger
    if trigger_source is not None:
        steps.append(("TriggerSource", trigger_source, lambda: camera.set_trigger(trigger_source)))
    else:
        steps.append(("TriggerMode", "Off", camera.clear_triggers))
        steps.append(("AcquisitionMode", "Continuous",
                      lambda: camera.set_acquisition_mode(aravis.AcquisitionMode.CONTINUOUS)))
    for feature, value, step in steps:
        try:
            step()
        except glib_error as error:
            raise CameraSettingError(feature, value, error.message) from None
    region = camera.get_region()
    return {"pixel_format": camera.get_pixel_format_as_string(), "exposure_us": camera.get_exposure_time(),
            "region": [region.x, region.y, region.width, region.height], "trigger": trigger_source or "free_run"}


def _set_region(camera: Any, x: int, y: int, width: int, height: int) -> None:
    """Aravis clamps a region to the sensor; a region the camera did not take as asked is an error."""
    camera.set_region(x, y, width, height)
    taken = camera.get_region()
    if (taken.x, taken.y, taken.width, taken.height) != (x, y, width, height):
        raise CameraSettingError("OffsetX/OffsetY/Width/Height", (x, y, width, height),
                                 f"the camera took ({taken.x}, {taken.y}, {taken.width}, {taken.height})")


def _set_feature(camera: Any, name: str, value: Any) -> None:
    if isinstance(value, bool):
        camera.set_boolean(name, value)
    elif isinstance(value, int):
        camera.set_integer(name, value)
    elif isinstance(value, float):
        camera.set_float(name, value)
    elif isinstance(value, str):
        camera.set_string(name, value)
    else:
        raise CameraSettingError(name, value, "expected a boolean, integer, number or string")
