"""TLS material made with the openssl CLI in a temporary folder: a CA, a server and a client certificate."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TlsMaterial:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_material(folder: Path, server_name: str = "127.0.0.1") -> TlsMaterial:
    """A fresh CA that signs a server certificate (SAN ``server_name``) and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to generate TLS material")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = folder / "ca.key", folder / "ca.crt"
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=inspectd-test-ca",
             "-keyout", ca_key, "-out", ca_cert)
    server_cert, server_key = _signed_pair(folder, "server", f"IP:{server_name}", ca_cert, ca_key)
    client_cert, client_key = _signed_pair(folder, "client", "DNS:inspectd-client", ca_cert, ca_key)
    return TlsMaterial(ca_cert, server_cert, server_key, client_cert, client_key)


def _signed_pair(folder: Path, name: str, subject_alt_name: str, ca_cert: Path, ca_key: Path) -> tuple[Path, Path]:
    key, request, cert, extensions = (folder / f"{name}{suffix}" for suffix in (".key", ".csr", ".crt", ".ext"))
    extensions.write_text(f"subjectAltName={subject_alt_name}\n")
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=inspectd-{name}",
             "-keyout", key, "-out", request)
    _openssl(folder, "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "2", "-extfile", extensions, "-out", cert)
    return cert, key


def _openssl(folder: Path, *args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=folder, check=True, capture_output=True)
