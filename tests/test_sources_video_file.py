"""Camera sources without a broker: a video file written from real images, and a folder of images.

Results go to the log and to disk; every frame read is accounted for (processed or dropped)."""

from __future__ import annotations

import json
import time

import cv2

from support.inprocess import (
    IMAGE_SIZE, daemon_config, encode, fit_both_products, running_daemon, scrape, small_images,
)

VIDEO_FRAMES = 12


def _wait_for_files(folder, pattern, count, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(folder.rglob(pattern))
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{len(sorted(folder.rglob(pattern)))} of {count} {pattern} files in {folder}")


def _accounting(metrics, source):
    def total(name):
        return sum(v for (n, labels), v in metrics.items() if n == name and ("source", source) in labels)

    return (total("inspectd_frames_received_total"), total("inspectd_frames_processed_total"),
            total("inspectd_frames_dropped_total"), total("inspectd_frames_failed_total"))


def test_video_file_camera_without_broker(tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    video = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (IMAGE_SIZE, IMAGE_SIZE))
    images = small_images(data_root, "bottle", "test/good", 3) + small_images(data_root, "bottle", "test/contamination", 3)
    for i in range(VIDEO_FRAMES):
        writer.write(cv2.cvtColor(images[i % len(images)], cv2.COLOR_RGB2BGR))
    writer.release()
    cameras = [{"name": "cam-video", "source": {"type": "opencv", "uri": str(video)}, "product": "bottle", "fps": 8}]
    storage = {"results_dir": str(tmp_path / "results"), "save": "all"}
    with running_daemon(daemon_config(banks, cameras=cameras, storage=storage)) as daemon:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            received, processed, dropped, failed = _accounting(scrape(daemon.metrics_port), "cam-video")
            if received == VIDEO_FRAMES and processed + dropped + failed == VIDEO_FRAMES:
                break
            time.sleep(0.1)
    assert received == VIDEO_FRAMES and processed + dropped == VIDEO_FRAMES and failed == 0
    assert processed >= VIDEO_FRAMES // 2
    results = sorted((tmp_path / "results" / "cam-video").rglob("*.json"))
    overlays = sorted((tmp_path / "results" / "cam-video").rglob("*.jpg"))
    assert len(results) == processed and len(overlays) == processed
    result = json.loads(results[0].read_text())
    assert result["source"] == "cam-video" and result["product"] == "bottle" and result["verdict"] in ("pass", "fail")
    assert cv2.imread(str(overlays[0])) is not None


def test_image_folder_plays_once_and_disk_retention_caps_files(tmp_path, data_root):
    banks = fit_both_products(tmp_path / "banks", data_root)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(small_images(data_root, "screw", "test/good", 4)):
        (folder / f"part-{i}.png").write_bytes(encode(image, ".png"))
    (folder / "part-9.jpg").write_bytes(b"\xff\xd8 truncated")
    cameras = [{"name": "folder", "source": {"type": "image_folder", "uri": str(folder)}, "product": "screw", "fps": 20}]
    storage = {"results_dir": str(tmp_path / "results"), "save": "all", "max_files": 4, "sweep_interval_s": 1}
    with running_daemon(daemon_config(banks, cameras=cameras, storage=storage)) as daemon:
        _wait_for_files(tmp_path / "results", "*.json", 2)
        time.sleep(1.0)
        metrics = scrape(daemon.metrics_port)
    assert _accounting(metrics, "folder") == (5, 4, 0, 1)
    assert metrics[("inspectd_frames_failed_total", (("reason", "decode_error"), ("source", "folder")))] == 1
    assert len([p for p in (tmp_path / "results").rglob("*") if p.is_file()]) == 4  # max_files
