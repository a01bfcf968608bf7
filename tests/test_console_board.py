"""The console's state without a browser: the review queue is bounded and newest first, a page that fell
behind the update log is told to resync, and a rollback copies a version only when it loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.banks import write_bank, write_damaged_bank

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
