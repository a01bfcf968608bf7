"""``logging:`` — structured log lines on stdout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inspectd.config.schema import setting


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = setting("info")
    json: bool = setting(True, doc="one JSON event per line on stdout; false: human-readable console lines")
