"""The console as the daemon sees it: a result sink that feeds the live board, the actions the page may
take (label a rejected frame, roll a bank back), and the web server, run by uvicorn on its own thread
with its own event loop so nothing it does waits on, or holds up, the detector's threads."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any

import cv2
import uvicorn

from inspectd.config import InspectdConfig
from inspectd.config.console import read_token
from inspectd.console.access import Access
from inspectd.console.app import UpdateSignal, build_app
from inspectd.console.board import LiveBoard
from inspectd.console.versions import list_versions, restore_version
from inspectd.daemon.banks import BankWatcher, EventPublisher, ProductBank
from inspectd.daemon.feedback_commands import LABELS, FeedbackCommands
from inspectd.daemon.frame_archive import find_frame
from inspectd.daemon.result import Result
from inspectd.detector import BankError, BankStore

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


class Console:
    """Implements the ResultSink protocol (``publish``, ``close``); ``start`` opens the web server."""

    name = "console"

    def __init__(self, config: InspectdConfig, banks: dict[str, ProductBank], watcher: BankWatcher,
                 feedback: FeedbackCommands, publish_event: EventPublisher, log) -> None:
        self._config = config
        self._settings = config.console
        self.board = LiveBoard(list(config.products), self._settings.review_size)
        self._banks = banks
        self._watcher = watcher
        self._feedback = feedback
        self._publish_event = publish_event
        self._log = log.bind(component="console")
        token_file = self._settings.token_file
        self._access = Access(read_token(token_file) if token_file is not None else None)
        self._signal = UpdateSignal()
        self.board.on_update(self._signal.notify)
        self.app = build_app(self, self._access, self._signal)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    # -- ResultSink -----------------------------------------------------------------------------
    def publish(self, result: Result) -> None:
        self.board.add_result(result)

    def close(self) -> None:
        """Stop the web server: live streams end, the port is released."""
        if self._server is None:
            return
        self._signal.closing = True
        self._signal.notify()
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        self._server = None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Listen (RuntimeError naming the address if that fails) and serve on a daemon thread."""
        bind, port = self._settings.bind, self._settings.port
        listener = _listen(bind, port)
        config = uvicorn.Config(self.app, log_config=None, access_log=False,
                                loop="asyncio", http="h11", ws="none", lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(listener),), name="console",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise RuntimeError(f"console: the web server did not start on {bind}:{port}")
        host = f"[{bind}]" if ":" in bind else bind
        self.url = f"http://{host}:{listener.getsockname()[1]}/"
        self._log.info("console_started", url=self.url, token_required=self._access.token is not None)

    async def _serve(self, listener: socket.socket) -> None:
        self._signal.bind(asyncio.get_running_loop())
        await self._server.serve(sockets=[listener])

    # -- what the page reads --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The board's snapshot with each product's bank versions, read after the board's update count: a bank
        event is published after its swap, so the versions are at least as new as the count says. Read before
        it, a swap between the two reads gave a snapshot that counted the swap's event and showed the bank it
        replaced; the page keeps the last answer of a count, and two answers of one count raced (the console's
        browser test waited a minute for a rolled-back version that was already serving)."""
        snapshot = self.board.snapshot({name: {} for name in self._banks})
        for name, bank in self._banks.items():
            snapshot["products"][name].update(
                serving=bank.version, versions=list_versions(BankStore(self._config.products[name].banks_dir), name))
        return {**snapshot, "feedback_unavailable": self._feedback_unavailable()}

    def frame_image(self, frame_id: str) -> tuple[bytes, str] | None:
        """The frame's overlay, else its pixels (JPEG), else the frame archived on disk; None if none is kept."""
        view = self.board.frame_view(frame_id)
        if view is not None and view.overlay is not None:
            return view.overlay, IMAGE_TYPES[view.overlay_format or "jpeg"]
        if view is not None and view.frame_image is not None:
            ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(view.frame_image, cv2.COLOR_RGB2BGR))
            return (encoded.tobytes(), "image/jpeg") if ok else None
        if self._config.storage is None:
            return None
        try:
            return find_frame(self._config.storage.results_dir, frame_id).read_bytes(), "image/png"
        except (OSError, ValueError):
            return None

    def _feedback_unavailable(self) -> str | None:
        storage = self._config.storage
        if storage is None or not storage.save_frames or storage.save == "none":
            return "feedback needs the frames kept on disk: a storage section with save_frames and save all or fail"
        return None

    # -- what the page does ---------------------------------------------------------------------
    def submit_label(self, frame_id: str, label: str) -> dict[str, Any]:
        """Queue an operator's verdict on a frame of the review queue (the feedback path of the MQTT topic)."""
        entry = self.board.review_entry(frame_id)
        if entry is None or label not in LABELS:
            return {"error": f"frame {frame_id!r} is not in the review queue, or label {label!r} not in {LABELS}"}
        if not self._feedback.submit("console", entry["product"], frame_id, label):
            return {"error": "feedback refused; the events list says why"}
        return {"queued": True, "frame_id": frame_id, "label": label}

    def rollback(self, product: str, version: str) -> Future[dict[str, Any]]:
        """Write ``version`` again as the product's next version (see versions.py), on the feedback thread."""
        if product not in self._banks:
            refused: Future[dict[str, Any]] = Future()
            refused.set_result({"error": f"unknown product {product!r}"})
            return refused
        return self._feedback.run_exclusive(lambda: self._restore(product, version))

    def _restore(self, product: str, version: str) -> dict[str, Any]:
        store = BankStore(self._config.products[product].banks_dir)
        try:
            restored = restore_version(store, product, version)
        except (BankError, OSError, ValueError) as error:
            reason = f"{type(error).__name__}: {error}"
            self._log.warning("command_refused", command="rollback", product=product, reason=reason)
            self._publish_event({"event": "command_refused", "command": "rollback", "topic": "console",
                                 "reason": reason})
            return {"error": reason}
        event = {"event": "bank_rolled_back", "product": product, "restored": version, "version": restored.name,
                 "replaced": self._banks[product].version, "at": time.time()}
        self._log.info(**event)
        self._publish_event(event)
        self._watcher.request_reload(product)
        return event


def _listen(bind: str, port: int) -> socket.socket:
    """A listening socket on ``bind``:``port``, or RuntimeError naming the config keys."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((bind, port))
        listener.listen(64)
    except OSError as error:
        listener.close()
        raise RuntimeError(f"console.bind/console.port: cannot listen on {bind}:{port}: {error}") from None
    return listener
