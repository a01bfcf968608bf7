"""Stream learning through a running daemon and a real mosquitto (issue 24): real bottle frames teach the bank,
a learned version swaps in and rejects fewer held-back goods; an out-of-bounds candidate is refused and the old
bank keeps serving; a darker line raises a drift event that pauses learning until acknowledged."""

from __future__ import annotations

import json
import time

from support.inprocess import (FAST_SETTINGS, MqttListener, daemon_config, fit_product_bank, json_frame, running_daemon,
                               scrape, small_images)

from inspectd.daemon.stream_learning import INBOX, marked_defective
from inspectd.detector import BankStore, fit_bank
from inspectd.detector.augment import brighten

PREFIX = "line9"


def _config(banks, broker, product: str, stream_learning: dict) -> dict:
    """The daemon on ``product`` alone, fed on ``parts``."""
    config = daemon_config(banks, broker, prefix=PREFIX, commands={"enabled": True},
                           mqtt_inputs=[{"name": "station", "topic": "parts", "product": product}])
    config["products"] = {product: config["products"][product]}
    config["products"][product]["stream_learning"] = {"enabled": True} | stream_learning
    return config


def _send(listener: MqttListener, images, tag: str, already: int) -> list[dict]:
    for i, image in enumerate(images):
        listener.publish("parts", json_frame(image, part_id=f"{tag}{i}"))
    listener.wait_for(f"{PREFIX}/station/result", already + len(images), timeout_s=120)
    return listener.json_messages(f"{PREFIX}/station/result")[already:]


def _taken(daemon) -> float:
    return scrape(daemon.metrics_port).get(("inspectd_stream_frames_taken_total", (("product", "bottle"),)), 0.0)


def _feed(listener: MqttListener, daemon, images, tag: str, already: int) -> list[dict]:
    """``_send``, at most an inbox of frames at a time, each batch waited for until the learner has taken it. The
    learner runs at the lowest priority and leaves frames out when its inbox is full (verdicts never wait), so on
    a busy machine a burst of frames would reach the sample only in part and the sample would never be due."""
    results = []
    for first in range(0, len(images), INBOX):
        taken = _taken(daemon)
        chunk = images[first:first + INBOX]
        results += _send(listener, chunk, f"{tag}{first}-", already + len(results))
        deadline = time.monotonic() + 120
        while _taken(daemon) < taken + len(chunk):
            assert time.monotonic() < deadline, f"the learner took {_taken(daemon) - taken} of {len(chunk)} frames"
            time.sleep(0.05)
    return results


def _wait_event(listener: MqttListener, name: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [e for e in listener.json_messages(f"{PREFIX}/events") if e["event"] == name]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"no {name} event: {listener.json_messages(f'{PREFIX}/events')}"
        time.sleep(0.1)


def test_learned_bank_swaps_in_and_rejects_fewer_held_back_goods(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    # 5 goldens (train/good 0-4), 128 px, unrotated: the bank rejects 7 of the 20 held-back goods
    BankStore(banks).write("bottle", fit_bank(small_images(data_root, "bottle", "train/good", 5), FAST_SETTINGS))
    stream = small_images(data_root, "bottle", "train/good", 38, offset=5)
    stream[10:10] = small_images(data_root, "bottle", "test/broken_large", 2)  # 5 % defective
    held_back = small_images(data_root, "bottle", "test/good", 20)
    learning = {"sample_frames": 40, "min_frames": 40, "refit_every": 1000, "min_recurrence": 4,
                "drift": {"enabled": False}}
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    try:
        # the held-back goods are measured by a daemon that does not learn, so that they never join a sample
        with running_daemon(_config(banks, mqtt_broker, "bottle", {**learning, "enabled": False})):
            before = _send(listener, held_back, "held", 0)
        with running_daemon(_config(banks, mqtt_broker, "bottle", learning)) as daemon:
            _feed(listener, daemon, stream, "s", len(before))
            written = _wait_event(listener, "stream_bank_written")
            swapped = _wait_event(listener, "bank_swapped")
            after = _send(listener, held_back, "again", len(before) + len(stream))
    finally:
        listener.close()
    assert written["version"] == "v0002" and swapped["version"] == "v0002"
    assert {r["bank_version"] for r in before} == {"v0001"} and {r["bank_version"] for r in after} == {"v0002"}
    rejected_before = sum(r["verdict"] == "fail" for r in before)
    rejected_after = sum(r["verdict"] == "fail" for r in after)
    assert rejected_after < rejected_before, (rejected_before, rejected_after, written)
    manifest = json.loads((BankStore(banks).latest("bottle") / "manifest.json").read_text())
    record = manifest["stream_learning"]
    assert record["base_version"] == "v0001" and len(record["frames"]) == len(stream)
    assert record["threshold"]["new"] == manifest["threshold"] == written["threshold"]


def test_out_of_bounds_candidate_is_refused_and_drift_pauses_learning(mqtt_broker, tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    goods = small_images(data_root, "bottle", "train/good", 30, offset=2)
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    config = _config(banks, mqtt_broker, "bottle", {
        "sample_frames": 20, "min_frames": 20, "refit_every": 5, "max_threshold_change": 1.0,  # no move allowed
        "drift": {"reference_frames": 10, "window": 10, "min_window": 5}})
    try:
        with running_daemon(config) as daemon:
            first = _feed(listener, daemon, goods[:20], "g", 0)
            refused = _wait_event(listener, "stream_candidate_refused")
            darker = _feed(listener, daemon, [brighten(image, 0.8) for image in goods[20:30]], "d", len(first))
            drift = _wait_event(listener, "drift")
            listener.publish(f"{PREFIX}/bottle/drift/ack", b"")
            acknowledged = _wait_event(listener, "drift_acknowledged")
    finally:
        listener.close()
    assert any("outside the bound" in problem for problem in refused["problems"])
    assert [p.name for p in BankStore(banks).versions("bottle")] == ["v0001"]  # a refused candidate is never written
    assert {r["bank_version"] for r in first + darker} == {"v0001"}  # the old bank kept serving
    assert drift["statistic"] in ("score", "map_mean", "brightness") and drift["p_value"] < 1e-3
    assert acknowledged["was_paused"] is True
    assert marked_defective(banks / "bottle") == set()
