"""``broker:`` — the MQTT broker inspectd connects to. Omit the section to run without a broker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inspectd.config.schema import setting


@dataclass(frozen=True)
class TlsConfig:
    ca_file: Path = setting(doc="CA bundle that signed the broker's certificate")
    cert_file: Path | None = setting(None, doc="client certificate, for brokers that require one")
    key_file: Path | None = setting(None, doc="private key of the client certificate")
    insecure_skip_verify: bool = setting(False, doc="accept any broker hostname (lab use only)")

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file given together or not at all")


@dataclass(frozen=True)
class BrokerConfig:
    host: str = setting("127.0.0.1")
    port: int = setting(1883, minimum=1, maximum=65535)
    protocol: Literal["v5", "v311"] = setting("v5", doc="v5 is needed for shared subscriptions")
    client_id: str = setting("inspectd", pattern=r"[A-Za-z0-9_.-]{1,64}", doc="stable id: the persistent session is keyed on it")
    topic_prefix: str = setting("inspectd", pattern=r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
    keepalive_s: int = setting(30, minimum=5, maximum=3600)
    session_expiry_s: int = setting(3600, minimum=0, doc="how long the broker keeps our session (QoS 1 backlog) while we are away")
    reconnect_min_s: float = setting(0.5, minimum=0.1)
    reconnect_max_s: float = setting(30.0, minimum=1.0)
    max_queued_messages: int = setting(1000, minimum=10, doc="outgoing messages held while the broker is slow or away; beyond it results are shed and counted")
    username: str | None = setting(None)
    password: str | None = setting(None, doc="prefer password_env or password_file")
    password_env: str | None = setting(None, doc="name of an environment variable holding the password")
    password_file: Path | None = setting(None, doc="file holding the password (e.g. a systemd credential)")
    tls: TlsConfig | None = setting(None)

    def __post_init__(self) -> None:
        given = [k for k in ("password", "password_env", "password_file") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"only one of password, password_env, password_file (got {', '.join(given)})")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s >= reconnect_min_s")

    def resolve_password(self) -> str | None:
        """The password from whichever of password / password_env / password_file is set."""
        if self.password_env is not None:
            return os.environ.get(self.password_env)
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return self.password
