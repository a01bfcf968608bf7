"""Reduced-size JPEG decode: large frames are decoded at 1/2, 1/4 or 1/8 in libjpeg, never below what the
products need, and results stay in the pixels of the frame as sent (real images, real broker)."""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pytest

from inspectd.config import ConfigError, parse_config
from inspectd.daemon.decode import PayloadError, decode_image, jpeg_reduction
from inspectd.daemon.dispatch import in_frame_pixels
from inspectd.daemon.result import DefectBox
from inspectd.images import read_rgb
from support.images import encode, json_part
from support.inprocess import MqttListener, daemon_config, fit_product_bank, running_daemon

MAX_PIXELS = 40_000_000
NEED = 512  # the daemon's default: heatmap max_size 512 is the largest side any product needs


def bottle(data_root, folder: str = "test/broken_large", side: int | None = None) -> np.ndarray:
    """A real 512 px MVTec bottle, RGB, upscaled (cubic) to ``side`` when given: a large camera frame."""
    path = sorted((data_root / "mvtec_ad" / "bottle" / folder).glob("*.*"))[0]
    image = read_rgb(path)
    return image if side is None else cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)


def test_large_jpeg_is_decoded_reduced_never_below_the_need(data_root) -> None:
    frame = bottle(data_root, side=2400)
    decoded = decode_image(encode(frame), MAX_PIXELS, NEED)
    assert (decoded.reduction, decoded.image.shape, decoded.frame_size) == (4, (600, 600, 3), (2400, 2400))
    full = decode_image(encode(frame), MAX_PIXELS).image
    area = cv2.resize(full, (600, 600), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(decoded.image.astype(np.float32) - area).mean() < 3.0, "not the same picture at 1/4"
    wide = cv2.resize(frame, (2448, 2048), interpolation=cv2.INTER_AREA)
    assert decode_image(encode(wide), MAX_PIXELS, 512).image.shape == (512, 612, 3)  # shorter side exactly 512
    assert decode_image(encode(wide), MAX_PIXELS, 513).image.shape == (1024, 1224, 3)
    assert decode_image(encode(frame), MAX_PIXELS, 128).reduction == 8
    assert jpeg_reduction((2449, 2049), 257) == 8  # libjpeg rounds up: 2049 / 8 -> 257


def test_small_jpeg_png_and_switched_off_are_full_size(data_root) -> None:
    small = bottle(data_root)
    decoded = decode_image(encode(small), MAX_PIXELS, NEED)
    assert (decoded.reduction, decoded.frame_size) == (1, (512, 512))
    assert np.array_equal(decoded.image, decode_image(encode(small), MAX_PIXELS).image)
    large = bottle(data_root, side=2400)
    png = decode_image(encode(large, ".png"), MAX_PIXELS, NEED)
    assert (png.reduction, png.image.shape, png.frame_size) == (1, (2400, 2400, 3), (2400, 2400))
    assert decode_image(encode(large), MAX_PIXELS, None).image.shape == (2400, 2400, 3)


def test_bomb_check_comes_before_a_reduced_decode(data_root) -> None:
    with pytest.raises(PayloadError) as refused:
        decode_image(encode(bottle(data_root, side=2400)), 2400 * 2400 - 1, NEED)
    assert refused.value.reason == "too_many_pixels"


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment holding only the Orientation tag (6: turn 90 degrees clockwise)."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_frame_size_follows_an_exif_rotation(data_root) -> None:
    tall = cv2.resize(bottle(data_root), (2048, 3072), interpolation=cv2.INTER_CUBIC)  # declared 2048 x 3072
    turned = with_exif_orientation(encode(tall), 6)
    full, reduced = decode_image(turned, MAX_PIXELS), decode_image(turned, MAX_PIXELS, NEED)
    assert full.image.shape[:2] == (2048, 3072) and full.frame_size == (3072, 2048)
    assert reduced.image.shape[:2] == (512, 768) and reduced.frame_size == (3072, 2048)


def test_boxes_scale_to_frame_pixels_and_stay_inside() -> None:
    box = in_frame_pixels(DefectBox(600, 500, 13, 13, 9.0), (613, 513), (2449, 2049))
    assert (box.x, box.y) == (2397, 1997)
    assert box.x + box.width == 2449 and box.y + box.height == 2049  # clipped to the frame
    same = DefectBox(1, 2, 3, 4, 1.0)
    assert in_frame_pixels(same, (512, 512), (512, 512)) is same


def test_switch_is_validated_by_name(tmp_path) -> None:
    config = daemon_config(tmp_path, cameras=[{"name": "cam", "product": "bottle", "source": {"index": 0}}],
                           reduced_jpeg_decode="sometimes")
    with pytest.raises(ConfigError, match="reduced_jpeg_decode: got 'sometimes', expected"):
        parse_config(config)


@pytest.fixture(scope="module")
def bottle_bank(tmp_path_factory, data_root):
    banks = tmp_path_factory.mktemp("banks")
    fit_product_bank(banks, data_root, "bottle")
    return banks


def inspect_over_mqtt(broker, banks, results_dir, frames: dict[str, bytes], **sections) -> dict[str, dict]:
    """Publish each JPEG to a running daemon; its result per part id, with the archived frame's shape."""
    inputs = [{"name": "station", "topic": "plant/bottle/image", "product": "bottle", "payload": "json"}]
    config = daemon_config(banks, broker, prefix="reduced", mqtt_inputs=inputs,
                           storage={"results_dir": str(results_dir)}, **sections)
    listener = MqttListener(broker, "reduced/station/result")
    try:
        with running_daemon(config):
            for part_id, jpeg in frames.items():
                listener.publish("plant/bottle/image", json_part(jpeg, part_id))
            results = [json.loads(p) for p in listener.wait_for("reduced/station/result", len(frames))]
    finally:
        listener.close()
    by_part = {}
    for result in results:
        assert result["verdict"] in ("pass", "fail"), result
        archived = next(results_dir.rglob(f"{result['frame_id']}.frame.png"))
        by_part[result["part_id"]] = {**result, "archived_shape": cv2.imread(str(archived)).shape[:2]}
    return by_part


def test_boxes_of_a_large_jpeg_are_in_the_original_frame(mqtt_broker, bottle_bank, data_root, tmp_path) -> None:
    part = bottle(data_root)
    frames = {"1x": encode(part), "4x": encode(cv2.resize(part, (2048, 2048), interpolation=cv2.INTER_CUBIC))}
    results = inspect_over_mqtt(mqtt_broker, bottle_bank, tmp_path / "results", frames)
    small, large = results["1x"], results["4x"]
    assert small["image"] == {"width": 512, "height": 512} and large["image"] == {"width": 2048, "height": 2048}
    assert large["archived_shape"] == (512, 512), "the 2048 px JPEG was not decoded at 1/4"
    assert small["verdict"] == large["verdict"] == "fail" and small["defects"] and large["defects"]
    assert abs(small["score"] - large["score"]) < 0.05 * small["score"]
    for one, four in zip(small["defects"], large["defects"]):
        for key in ("x", "y", "width", "height"):
            assert abs(4 * one[key] - four[key]) <= 0.02 * 2048, (key, one, four)


def test_reduced_decode_can_be_switched_off(mqtt_broker, bottle_bank, data_root, tmp_path) -> None:
    frame = encode(bottle(data_root, side=2048))
    results = inspect_over_mqtt(mqtt_broker, bottle_bank, tmp_path / "results", {"4x": frame},
                                reduced_jpeg_decode=False)
    assert results["4x"]["archived_shape"] == (2048, 2048)
    assert results["4x"]["image"] == {"width": 2048, "height": 2048}


def test_triggered_folder_camera_reports_the_frame_as_sent(mqtt_broker, bottle_bank, data_root, tmp_path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "part.jpg").write_bytes(encode(bottle(data_root, side=2048)))
    cameras = [{"name": "cam", "product": "bottle", "fps": 20, "trigger": {"mode": "topic"},
                "source": {"type": "image_folder", "uri": str(folder), "loop": True}}]
    listener = MqttListener(mqtt_broker, "reduced/cam/#")
    try:
        with running_daemon(daemon_config(bottle_bank, mqtt_broker, prefix="reduced", cameras=cameras)):
            listener.wait_for("reduced/cam/state", 2)  # initial, then up
            listener.publish("reduced/cam/trigger", b"t1")
            result = json.loads(listener.wait_for("reduced/cam/result", 1)[0])
    finally:
        listener.close()
    assert result["verdict"] == "fail" and result["image"] == {"width": 2048, "height": 2048}
    assert all(box["x"] + box["width"] > 512 for box in result["defects"]), "boxes in decoded, not frame, pixels"
