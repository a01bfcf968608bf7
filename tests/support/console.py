"""The console tests' daemon: the test line (one MQTT input, product ``bottle``) with results and frames kept
on disk and the console enabled; plain HTTP requests with chosen headers."""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support.broker import Broker
from support.line import line_config


def console_config(broker: Broker, banks_dir: Path, workdir: Path, **console: Any) -> dict[str, Any]:
    """``line_config`` with storage (the feedback path needs the kept frames) and ``console: {enabled, port 0, ...}``."""
    return line_config(broker, banks_dir, storage={"results_dir": str(workdir / "results")},
                       console={"enabled": True, "port": 0, **console}, logging={"level": "warning"})


def request(url: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request to the console at ``url``; (status, lower-cased headers, body). Streams are cut after
    their headers."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        streaming = response.getheader("content-type", "").startswith("text/event-stream")
        data = response.read(64) if streaming else response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()
