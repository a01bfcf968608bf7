"""Shared fixtures: a real mosquitto broker on loopback and the real evaluation images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from support.broker import Broker, start_mosquitto, stop_process

REPO_ROOT = Path(__file__).resolve().parents[1]

# Fixtures of the fault, fuzz, security and soak suites: tiny banks, daemon processes, test clients.
pytest_plugins = ["support.fixtures"]


@pytest.fixture
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real, anonymous mosquitto broker on a free loopback port, stopped after the test."""
    process, broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    try:
        yield broker
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real evaluation images: $INSPECTD_DATA, else ../shared/data beside the checkout."""
    candidates = [os.environ.get("INSPECTD_DATA"), REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "mvtec_ad" / "bottle").is_dir():
            return Path(candidate)
    pytest.fail(f"real evaluation images not found (tried {[c for c in candidates if c]}); set INSPECTD_DATA")
