"""The console's state without a browser: the review queue is bounded and newest first, a page that fell
behind the update log is told to resync, a rollback copies a version only when it loads, and a snapshot never
shows an older bank than the updates it counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.banks import write_bank, write_damaged_bank
from support.console import console_config
from support.inprocess import running_daemon

import inspectd.console.server as console_server
from inspectd.console.board import UPDATE_LOG, LiveBoard
from inspectd.console.versions import list_versions, restore_version
from inspectd.daemon.frame import FrameInfo
from inspectd.daemon.result import Heatmap, Result, error_result
from inspectd.detector import BankError, BankStore, load_bank


def result(verdict: str, score: float, frame_id: str) -> Result:
    return Result(info=FrameInfo(source="line", product="bottle", frame_id=frame_id), product="bottle",
                  verdict=verdict, score=score, threshold=1.0, image_size=(8, 8),
                  heatmap=Heatmap(f"jpeg of {frame_id}".encode(), "jpeg"), frame_image=np.zeros((8, 8, 3), np.uint8))


def test_review_queue_keeps_the_newest_rejected_frames_in_order():
    board = LiveBoard(["bottle"], review_size=5)
    for i in range(12):
        board.add_result(result("fail" if i % 3 else "pass", 0.5 + i, f"f{i:02d}"))
    board.add_result(error_result(FrameInfo(source="line", product="bottle", frame_id="broken"), "error",
                                  "decode_error", "not an image"))
    failed = [f"f{i:02d}" for i in range(12) if i % 3]
    first = board.review_page(0, 3)
    assert first["total"] == 5 and [f["frame_id"] for f in first["frames"]] == failed[::-1][:3]
    assert [f["frame_id"] for f in board.review_page(1, 3)["frames"]] == failed[::-1][3:5]
    assert board.frame_view(failed[0]) is None  # pushed out of the queue: its overlay is released
    assert board.frame_view("f11").overlay == b"jpeg of f11"
    assert board.frame_view("broken").summary["verdict"] == "error"  # the source's latest, though not counted
    product = board.snapshot({"bottle": {}})["products"]["bottle"]
    assert (product["passed"], product["failed"]) == (4, 8) and len(product["scores"]) == 12


def test_a_page_behind_the_update_log_is_told_to_resync():
    board = LiveBoard(["bottle"], review_size=1)
    board.add_event({"event": "bank_loaded", "version": "v0001"})
    texts, newest, lost = board.updates_after(0)
    assert (newest, lost) == (1, False) and json.loads(texts[0])["data"]["version"] == "v0001"
    for i in range(UPDATE_LOG + 5):
        board.add_result(result("pass", 0.1, f"p{i}"))
    assert board.updates_after(newest)[2] is True  # the page's next update was forgotten
    texts, latest, lost = board.updates_after(UPDATE_LOG)  # a page that is behind, but still within the log
    assert not lost and len(texts) == latest - UPDATE_LOG == 6


def test_rollback_writes_a_loadable_version_again_and_refuses_a_damaged_one(tmp_path, tiny_bank):
    store = BankStore(tmp_path / "banks")
    first = write_bank(store.banks_dir, "bottle", tiny_bank)
    damaged = write_damaged_bank(store.banks_dir, "bottle", first, "bit_flipped", tmp_path / "marker")
    with pytest.raises(BankError):
        restore_version(store, "bottle", damaged.name)
    with pytest.raises(ValueError, match="invalid bank version"):
        restore_version(store, "bottle", "../v0001")
    with pytest.raises(FileNotFoundError):
        restore_version(store, "bottle", "v0042")
    assert [v.name for v in store.versions("bottle")] == ["v0001", "v0002"]  # nothing written by a refusal
    restored = restore_version(store, "bottle", "v0001")
    assert restored.name == "v0003"
    assert np.array_equal(load_bank(restored).memory, load_bank(first).memory)
    listed = list_versions(store, "bottle")
    assert [(v["version"], v["restored_from"]) for v in listed] == [("v0003", "v0001"), ("v0002", None),
                                                                     ("v0001", None)]


def test_a_snapshot_shows_the_bank_of_every_update_it_counts(mqtt_broker, banks_dir, tiny_bank, tmp_path,
                                                              monkeypatch):
    """A bank swapped in while a snapshot is being read (injected: the swap runs inside the snapshot's listing of
    versions) either is not counted by the snapshot's update count, or is the bank the snapshot shows. The page
    keeps the last snapshot of a count, so one that counted the swap but showed the replaced bank stayed on screen
    (the browser test's rollback once waited a minute for a version that was serving)."""
    config = console_config(mqtt_broker, banks_dir, tmp_path)
    config["products"]["bottle"]["reload_poll_s"] = 3600.0  # only the injected refresh loads v0002
    list_versions_now = console_server.list_versions
    with running_daemon(config) as daemon:
        bank = daemon.banks["bottle"]
        write_bank(banks_dir, "bottle", tiny_bank)  # v0002, on disk, not yet loaded
        assert bank.version == "v0001"

        def swap_while_listing(store, product):
            if bank.version == "v0001":
                bank.refresh()  # publishes bank_swapped to the board before it returns
            return list_versions_now(store, product)

        monkeypatch.setattr(console_server, "list_versions", swap_while_listing)
        snapshot = daemon.console.snapshot()
        swaps = [json.loads(text) for text in daemon.console.board.updates_after(0)[0]]
        swap_seq = next(u["seq"] for u in swaps if u["kind"] == "event" and u["data"]["event"] == "bank_swapped")
    assert bank.version == "v0002"
    if snapshot["seq"] >= swap_seq:
        assert snapshot["products"]["bottle"]["serving"] == "v0002", snapshot["products"]["bottle"]
