"""What the console shows, kept up to date by the daemon: each source's latest result, per-product tallies
and recent scores, the review queue of rejected frames, recent events and source states.

Fed from the result dispatcher's thread (``add_result``) and from the daemon's event and state
publishers; read by the web server's thread. Every change is also appended, JSON-encoded once, to a
short numbered log that the live stream replays to each connected page.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspectd.daemon.result import Result

SCORE_HISTORY = 200
EVENT_HISTORY = 200
UPDATE_LOG = 1024
"""Updates a page may fall behind by before it must reload the whole snapshot."""

ProductStateProvider = Callable[[str], dict[str, Any] | None]
"""Extra per-product state shown in the product panel (stream learning, drift), or None where there is none."""


@dataclass
class FrameView:
    """A frame the page can show: the overlay as published, else the frame itself (encoded on request)."""

    summary: dict[str, Any]
    overlay: bytes | None
    overlay_format: str | None
    frame_image: np.ndarray | None = None


@dataclass
class ProductTally:
    passed: int = 0
    failed: int = 0
    threshold: float | None = None
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=SCORE_HISTORY))


class LiveBoard:
    def __init__(self, products: list[str], review_size: int) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, FrameView] = {}
        self._tallies = {product: ProductTally() for product in products}
        self._review: OrderedDict[str, FrameView] = OrderedDict()
        self._review_size = review_size
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENT_HISTORY)
        self._states: dict[str, dict[str, Any]] = {}
        self._updates: deque[tuple[int, str]] = deque(maxlen=UPDATE_LOG)
        self._seq = 0
        self._listeners: list[Callable[[], None]] = []
        self.state_providers: list[ProductStateProvider] = []

    # -- writers (daemon threads) ---------------------------------------------------------------
    def add_result(self, result: Result) -> None:
        summary = result_summary(result)
        view = FrameView(summary, result.heatmap.data if result.heatmap else None,
                         result.heatmap.format if result.heatmap else None,
                         result.frame_image if result.heatmap is None else None)
        with self._lock:
            self._latest[result.info.source] = view
            tally = self._tallies.get(result.product or "")
            if tally is not None and result.answered:
                tally.passed += result.verdict == "pass"
                tally.failed += result.verdict == "fail"
                tally.scores.append(float(result.score))
                tally.threshold = result.threshold
            if result.verdict == "fail":
                self._review[result.info.frame_id] = FrameView(dict(summary, label=None), view.overlay,
                                                               view.overlay_format)
                while len(self._review) > self._review_size:
                    self._review.popitem(last=False)
            self._append_update("result", summary)

    def add_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)
            reviewed = self._review.get(str(event.get("frame_id")))
            if event.get("event") == "feedback_applied" and reviewed is not None:
                reviewed.summary["label"] = event.get("label")
            self._append_update("event", event)

    def set_state(self, source: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._states[source] = state
            self._append_update("state", state)

    def on_update(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the writer's thread; it must be quick) after every change."""
        self._listeners.append(listener)

    def _append_update(self, kind: str, payload: dict[str, Any]) -> None:
        self._seq += 1
        self._updates.append((self._seq, json.dumps({"seq": self._seq, "kind": kind, "data": payload})))
        for listener in self._listeners:
            listener()

    # -- readers (web server thread) ------------------------------------------------------------
    def updates_after(self, seq: int) -> tuple[list[str], int, bool]:
        """(encoded updates newer than ``seq``, the newest seq, whether some were already forgotten)."""
        with self._lock:
            if not self._updates:
                return [], self._seq, seq < self._seq
            lost = self._updates[0][0] > seq + 1
            return [text for number, text in self._updates if number > seq], self._seq, lost

    def snapshot(self, products: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Everything the page draws, as of now; ``products`` holds a dict per product, completed here with the
        tallies and any extra state (the console adds the bank versions after: ``Console.snapshot``)."""
        with self._lock:
            for name, tally in self._tallies.items():
                products[name].update(passed=tally.passed, failed=tally.failed, threshold=tally.threshold,
                                      scores=list(tally.scores))
            sources = sorted(set(self._latest) | set(self._states))
            snapshot = {
                "seq": self._seq,
                "sources": [{"source": s, "state": self._states.get(s),
                             "latest": self._latest[s].summary if s in self._latest else None} for s in sources],
                "events": list(self._events)[::-1],
                "review_total": len(self._review),
            }
        for name, product in products.items():
            product["extra"] = {key: value for provider in self.state_providers
                                for key, value in (provider(name) or {}).items()}
        return {**snapshot, "products": products}

    def review_page(self, page: int, per_page: int) -> dict[str, Any]:
        """Rejected frames newest first, page ``page`` (from 0) of ``per_page``."""
        with self._lock:
            newest_first = [view.summary for view in reversed(self._review.values())]
        start = page * per_page
        return {"total": len(newest_first), "page": page, "per_page": per_page,
                "frames": newest_first[start:start + per_page]}

    def review_entry(self, frame_id: str) -> dict[str, Any] | None:
        with self._lock:
            view = self._review.get(frame_id)
            return dict(view.summary) if view else None

    def frame_view(self, frame_id: str) -> FrameView | None:
        """A frame still held: the latest of a source, or one in the review queue."""
        with self._lock:
            held = [v for v in self._latest.values() if v.summary["frame_id"] == frame_id]
            return held[0] if held else self._review.get(frame_id)


def result_summary(result: Result) -> dict[str, Any]:
    """The result as the page shows it: the published JSON without the heatmap's transport details."""
    summary = result.to_json()
    summary.pop("latency_ms")
    summary.pop("heatmap", None)  # the page asks /api/frames/<id>/image
    return summary
