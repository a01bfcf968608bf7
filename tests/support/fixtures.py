"""pytest fixtures of the fault, fuzz, security and soak suites (loaded by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspectd.detector import Bank
from support.banks import fit_tiny_bank, write_bank
from support.broker import Broker
from support.daemon import DaemonProcess
from support.images import part_images
from support.line import PRODUCT
from support.mqtt_client import LineClient


@pytest.fixture(scope="session")
def golden_images(data_root: Path) -> list[np.ndarray]:
    """Eight small real bottle images; the first is the golden image of every test bank."""
    return part_images(data_root, 8)


@pytest.fixture(scope="session")
def tiny_bank(golden_images: list[np.ndarray]) -> Bank:
    return fit_tiny_bank(golden_images[0])


@pytest.fixture
def banks_dir(tmp_path: Path, tiny_bank: Bank) -> Path:
    """A banks folder where product ``bottle`` has one good version, v0001."""
    folder = tmp_path / "banks"
    write_bank(folder, PRODUCT, tiny_bank)
    return folder


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """``start_daemon(config, wait_started_s=60)``: a running daemon, killed at teardown if still up."""
    started: list[DaemonProcess] = []

    def start(config: dict[str, Any], wait_started_s: float = 60.0) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / f"daemon{len(started)}")
        started.append(daemon)
        return daemon.start(wait_started_s)

    yield start
    for daemon in started:
        daemon.close()


@pytest.fixture
def line_client() -> Iterator[Callable[..., LineClient]]:
    """``line_client(broker, client_id=...)``: a connected test client, closed at teardown."""
    clients: list[LineClient] = []

    def connect(broker: Broker, client_id: str = "line-test", **options: Any) -> LineClient:
        client = LineClient(broker, client_id, **options)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
