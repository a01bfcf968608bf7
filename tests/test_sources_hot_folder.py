"""Hot folder: each dropped file is one part, answered once, never dropped even with a tiny queue."""

from __future__ import annotations

import json
import time

from support.inprocess import daemon_config, encode, fit_product_bank, running_daemon, scrape, small_images

PARTS = 5


def test_hot_folder_parts_all_answered_and_moved(tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cameras = [{"name": "inbox", "product": "bottle",
                "source": {"type": "hot_folder", "uri": str(inbox), "options": {"poll_s": 0.1, "settle_s": 0.1}}}]
    config = daemon_config(banks, cameras=cameras, storage={"results_dir": str(tmp_path / "results")})
    config["products"]["bottle"]["queue_size"] = 1
    images = small_images(data_root, "bottle", "test/good", PARTS)
    with running_daemon(config) as daemon:
        for i, image in enumerate(images):
            (inbox / f"part-{i}.jpg").write_bytes(encode(image))
        (inbox / "part-x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
        deadline = time.monotonic() + 60
        while len(list((tmp_path / "results").rglob("*.json"))) < PARTS + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        metrics = scrape(daemon.metrics_port)
    results = [json.loads(p.read_text()) for p in (tmp_path / "results").rglob("*.json")]
    assert sorted(r["part_id"] for r in results if r["verdict"] in ("pass", "fail")) == [f"part-{i}" for i in range(PARTS)]
    assert [r["error"]["reason"] for r in results if r["verdict"] == "error"] == ["decode_error"]
    assert sorted(p.name for p in (inbox / "done").iterdir()) == [f"part-{i}.jpg" for i in range(PARTS)]
    assert [p.name for p in (inbox / "failed").iterdir()] == ["part-x.png"]
    assert not any(name == "inspectd_frames_dropped_total" for name, _ in metrics)
