"""Real mosquitto brokers on free loopback ports: anonymous, or with TLS, a password file and an ACL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.tls import TlsMaterial


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    config_path: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mosquitto_binary(name: str = "mosquitto") -> str:
    """Path of a mosquitto program (``mosquitto``, ``mosquitto_passwd``); fails the test if absent."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed (.ci/run installs mosquitto with apt-get)")
    return found


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


def start_mosquitto(workdir: Path, extra_config: str = "", port: int | None = None,
                    persistent: bool = False) -> tuple[subprocess.Popen, Broker]:
    """Start mosquitto on 127.0.0.1 with a generated config; returns the process and its address.

    ``persistent``: sessions, subscriptions and queued QoS 1 messages survive a restart (kept in workdir).
    """
    port = port or free_port()
    config_path = workdir / "mosquitto.conf"
    config_path.write_text(
        f"listener {port} 127.0.0.1\n"
        + (f"persistence true\npersistence_location {workdir}/\n" if persistent else "persistence false\n")
        # as root, mosquitto would switch to the 'mosquitto' user, who cannot write a private tmp dir
        + ("user root\n" if os.geteuid() == 0 else "")
        + "log_dest stdout\n"
        "log_type error\nlog_type warning\n"
        + (extra_config or "allow_anonymous true\n")
    )
    log = open(workdir / "mosquitto.log", "ab")
    process = subprocess.Popen([mosquitto_binary(), "-c", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        process.kill()
        raise
    return process, Broker("127.0.0.1", port, config_path)


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def secure_broker_config(workdir: Path, tls: TlsMaterial, users: dict[str, str], acl: str,
                         require_client_cert: bool = False) -> str:
    """mosquitto settings for TLS only, the given users (password file) and an ACL file."""
    password_file = workdir / "passwords"
    password_file.write_text("")
    for user, password in users.items():
        subprocess.run([mosquitto_binary("mosquitto_passwd"), "-b", str(password_file), user, password],
                       check=True, capture_output=True)
    acl_file = workdir / "acl"
    acl_file.write_text(acl)
    return (
        f"cafile {tls.ca_cert}\ncertfile {tls.server_cert}\nkeyfile {tls.server_key}\n"
        f"require_certificate {'true' if require_client_cert else 'false'}\n"
        f"allow_anonymous false\npassword_file {password_file}\nacl_file {acl_file}\n"
    )
