"""``inspectd run --config FILE`` as a subprocess: its JSON log lines, its /metrics, its signals."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

LogEvent = dict[str, Any]


def inspectd_command() -> list[str]:
    """The installed ``inspectd`` script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("inspectd")
    found = str(beside) if beside.exists() else shutil.which("inspectd")
    if found is None:
        raise RuntimeError("the inspectd command is not installed (pip install -e .)")
    return [found]


def check_config(config_path: Path) -> subprocess.CompletedProcess:
    """``inspectd check-config FILE``, output captured."""
    return subprocess.run([*inspectd_command(), "check-config", str(config_path)], capture_output=True,
                          text=True, timeout=60)


class DaemonProcess:
    """One daemon: started from a config mapping, its stdout read line by line on a thread."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "inspectd.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.events: list[LogEvent] = []
        self.other_lines: list[str] = []
        self._changed = threading.Condition()
        self._stdout_path = workdir / "inspectd.log"
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self, wait_started_s: float = 60.0) -> DaemonProcess:
        self.process = subprocess.Popen([*inspectd_command(), "run", "--config", str(self.config_path)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait_started_s:
            self.wait_for("started", timeout_s=wait_started_s)
        return self

    # -- log lines ------------------------------------------------------------------------------
    def wait_for(self, event: str, timeout_s: float = 30.0, where: Callable[[LogEvent], bool] = lambda e: True,
                 count: int = 1) -> list[LogEvent]:
        """Wait until ``count`` log events named ``event`` (and matching ``where``) were logged."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = self.logged(event, where)
                if len(found) >= count:
                    return found
                if self.process is not None and self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"inspectd exited ({self.process.returncode}) before {count} x {event!r}:\n"
                                         + self.tail())
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(found)} of {count} x {event!r} after {timeout_s}s:\n" + self.tail())
                self._changed.wait(min(remaining, 0.5))

    def logged(self, event: str, where: Callable[[LogEvent], bool] = lambda e: True) -> list[LogEvent]:
        with self._changed:
            return [e for e in self.events if e.get("event") == event and where(e)]

    def tail(self, lines: int = 30) -> str:
        with self._changed:
            recent = [json.dumps(e) for e in self.events[-lines:]] + self.other_lines[-lines:]
        return "\n".join(recent)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with open(self._stdout_path, "ab") as copy:
            for raw in self.process.stdout:
                copy.write(raw)
                line = raw.decode("utf-8", errors="replace").strip()
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                with self._changed:
                    if isinstance(event, dict):
                        self.events.append(event)
                    elif line:
                        self.other_lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    # -- metrics --------------------------------------------------------------------------------
    @property
    def metrics_port(self) -> int:
        return int(self.wait_for("started")[0]["metrics_port"])

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        """Every sample of /metrics: (name, labels) -> value."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples named ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, sample_labels), v in self.metrics().items() if n == name and wanted <= sample_labels)

    # -- life cycle -----------------------------------------------------------------------------
    def send_signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait for the exit status."""
        self.send_signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def kill(self) -> int:
        self.send_signal(signal.SIGKILL)
        return self.wait(10.0)

    def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout_s)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def close(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.wait(10.0)
