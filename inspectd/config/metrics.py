"""``metrics:`` — the Prometheus /metrics endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from inspectd.config.schema import setting


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = setting(True)
    bind: str = setting("127.0.0.1", doc="address of the /metrics HTTP server; localhost unless you mean it")
    port: int = setting(9108, minimum=0, maximum=65535, doc="0 picks a free port")
