"""A source plugin run on its own, without a daemon: its config built the daemon's way, its frames collected."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog

from inspectd.config import parse_config
from inspectd.config.cameras import CameraConfig
from inspectd.daemon.frame import Frame
from inspectd.daemon.interfaces import SourceContext


def camera_config(source: dict[str, Any], trigger: str = "free_run") -> CameraConfig:
    """Camera ``cam`` with this ``source`` section, validated like a config file's."""
    config = parse_config({"products": {"p": {"banks_dir": "/nonexistent"}}, "broker": {"host": "127.0.0.1"},
                           "cameras": [{"name": "cam", "product": "p", "source": source,
                                        "trigger": {"mode": trigger}}]})
    return config.cameras[0]


def source_context(emit: Callable[[Frame], None], up: threading.Event, **fields: Any) -> SourceContext:
    """A context whose ``emit`` is given, ``set_up`` sets/clears ``up``, and rejections are printed."""
    return SourceContext(name="cam", emit=emit, reject=lambda info, reason, message: print("rejected", reason, message),
                         set_up=lambda is_up: up.set() if is_up else up.clear(), mqtt=None,
                         log=structlog.get_logger("harness"), decode_min_side=lambda: None, **fields)
