"""The bank serving each product, and the hot swap to a newer version.

A new version is loaded, validated and warmed up on the watcher thread, off the hot path; the swap
itself is one attribute assignment, so a worker uses either the old detector or the new one for a
whole batch and no frame waits for a load. A bank that fails is refused and remembered (not retried
until forced), and the old one keeps serving.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inspectd.config.products import ProductConfig
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.detector import BankStore, Detector, load_bank
from inspectd.detector.calibration import named_unlike_goldens
from inspectd.heap import release_freed_heap

EventPublisher = Callable[[dict[str, Any]], None]

WARM_UP_IMAGE = np.zeros((64, 64, 3), dtype=np.uint8)


class ProductBank:
    """The detector for one product; ``detector`` is None until a valid bank exists."""

    def __init__(self, product: str, settings: ProductConfig, metrics: DaemonMetrics,
                 publish_event: EventPublisher, log) -> None:
        self.product = product
        self.detector: Detector | None = None
        self.version_dir: Path | None = None
        self._store = BankStore(settings.banks_dir)
        self._threshold_override = settings.threshold
        self._presence_check = settings.presence_check
        self._metrics = metrics
        self._publish_event = publish_event
        self._log = log.bind(product=product)
        self._refused: set[Path] = set()

    @property
    def version(self) -> str | None:
        return self.version_dir.name if self.version_dir else None

    def refresh(self, force: bool = False) -> None:
        """Load the product's latest bank version if it is new (or refused before and ``force``).

        While nothing serves (start-up, e.g. after a crash with a broken newest version on disk), older
        versions are tried newest first, so the product comes back on the last bank that loads.
        """
        latest = self._store.latest(self.product)
        is_new = latest is not None and latest != self.version_dir and (force or latest not in self._refused)
        if is_new and self._load(latest):
            return
        if self.detector is None:
            self._fall_back()

    def _fall_back(self) -> None:
        for older in reversed(self._store.versions(self.product)):
            if older not in self._refused and self._load(older):
                return

    def _load(self, version_dir: Path) -> bool:
        """Load, validate and warm up ``version_dir``, then swap it in; False (reported) if refused."""
        try:
            return self._swap_in(version_dir)
        finally:  # the index build's temporaries, a refused bank's arrays, the replaced bank
            release_freed_heap()

    def _swap_in(self, version_dir: Path) -> bool:
        started = time.monotonic()
        try:
            detector = Detector(load_bank(version_dir), threshold_override=self._threshold_override,
                                presence_check=self._presence_check)
            detector.inspect([WARM_UP_IMAGE])
        except Exception as error:  # BankError, or anything a broken bank makes the detector raise
            self._refused.add(version_dir)
            self._report("refused", version_dir, started, error=str(error))
            return False
        self._refused.discard(version_dir)
        previous = self.version
        self.detector, self.version_dir = detector, version_dir
        self._metrics.bank_version.labels(self.product).set(int(version_dir.name[1:]))
        self._metrics.bank_size.labels(self.product).set(detector.bank.memory.shape[0])
        self._metrics.bank_expected_false_reject.labels(self.product).set(self._expected_false_reject(detector))
        self._report("swapped" if previous else "loaded", version_dir, started, previous=previous,
                     **self._unlike_goldens(detector.bank.manifest))
        return True

    @staticmethod
    def _unlike_goldens(manifest: dict) -> dict:
        """``unlike_goldens`` for the event where a golden is unlike the others (docs/calibration.md): a broken or
        wrong part among the goldens, which the bank learned as good; nothing otherwise."""
        unlike = named_unlike_goldens(manifest.get("calibration", {}), manifest.get("golden_files"))
        if not unlike:
            return {}
        return {"unlike_goldens": [{"golden": name, "ratio": round(ratio, 2)} for name, ratio in unlike]}

    def _expected_false_reject(self, detector: Detector) -> float:
        """The bank's own estimate (docs/calibration.md); NaN without one (one golden, after feedback, banks
        written before it) or when an operator's threshold replaces the calibrated one."""
        expected = detector.bank.manifest.get("calibration", {}).get("expected_false_reject")
        return math.nan if expected is None or self._threshold_override is not None else float(expected)

    def _report(self, result: str, version_dir: Path, started: float, **details: Any) -> None:
        event = {
            "event": f"bank_{result}",
            "product": self.product,
            "version": version_dir.name,
            "serving": self.version,
            "load_ms": round((time.monotonic() - started) * 1000.0, 1),
            "at": time.time(),
            **details,
        }
        self._metrics.reloads.labels(self.product, "refused" if result == "refused" else "ok").inc()
        (self._log.error if result == "refused" else self._log.info)(**event)
        self._publish_event(event)


class BankWatcher:
    """Polls every product's banks directory; ``request_reload`` (SIGHUP, command) forces a check."""

    def __init__(self, banks: dict[str, ProductBank], poll_s: float, log) -> None:
        self._banks = banks
        self._poll_s = poll_s
        self._log = log
        self._forced: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="bank-watcher", daemon=True)

    def load_initial(self) -> None:
        """Load every product's latest bank before frames flow."""
        for bank in self._banks.values():
            bank.refresh()
            if bank.detector is None:
                self._log.warning("no_bank", product=bank.product, hint="run inspectd refit; frames fail with no_bank")

    def start(self) -> None:
        self._thread.start()

    def request_reload(self, product: str | None = None) -> None:
        """Re-check one product (or all), retrying a refused version too."""
        with self._lock:
            self._forced.update([product] if product else self._banks)
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._poll_s)
            self._wake.clear()
            with self._lock:
                forced, self._forced = self._forced, set()
            for name, bank in self._banks.items():
                if self._stopping:
                    return
                try:
                    bank.refresh(force=name in forced)
                except Exception:  # e.g. the banks directory vanished; keep watching
                    self._log.exception("bank_watch_failed", product=name)
