"""What each source is doing: the product it inspects (recipe) and whether it delivers frames.

Every change is published as the source's retained state message and reflected in metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from inspectd.daemon.metrics import DaemonMetrics

StatePublisher = Callable[[str, dict[str, Any]], None]


class SourceStates:
    def __init__(self, initial_products: dict[str, str | None], metrics: DaemonMetrics,
                 publish_state: StatePublisher) -> None:
        self._products = dict(initial_products)
        self._up = dict.fromkeys(initial_products, False)
        self._metrics = metrics
        self._publish_state = publish_state
        self._lock = threading.Lock()
        for source in initial_products:
            metrics.source_up.labels(source).set(0)

    def product_of(self, source: str) -> str | None:
        return self._products.get(source)

    def set_product(self, source: str, product: str) -> None:
        with self._lock:
            self._products[source] = product
        self._publish(source)

    def set_up(self, source: str, up: bool) -> None:
        with self._lock:
            changed = self._up.get(source) != up
            self._up[source] = up
        self._metrics.source_up.labels(source).set(1 if up else 0)
        if changed:
            self._publish(source)

    def publish_all(self) -> None:
        for source in self._products:
            self._publish(source)

    def _publish(self, source: str) -> None:
        self._publish_state(source, {
            "source": source,
            "product": self._products.get(source),
            "up": self._up.get(source, False),
            "changed_at": time.time(),
        })
