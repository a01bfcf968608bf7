"""Security: inspectd against a mosquitto with TLS (client certificate required), a password file and
a least-privilege ACL. Right credentials: the line works. Wrong ones: a clear log line and metric,
the process stays up and retries at the backoff pace. The ACL confines inspectd's identity."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from support.broker import Broker, secure_broker_config, start_mosquitto, stop_process
from support.images import encode, json_part
from support.line import IMAGE_TOPIC, line_config
from support.tls import TlsMaterial, make_tls_material

USERS = {"inspectd": "inspectd-secret", "plc": "plc-secret"}
ACL = """user inspectd
topic read factory/line/#
topic readwrite inspectd/#

user plc
topic write factory/line/#
topic read inspectd/#
topic readwrite plant/secret/#
"""
REFUSAL_WATCH_S = 4.0


@dataclass(frozen=True)
class SecureBroker:
    broker: Broker
    tls: TlsMaterial


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    workdir = tmp_path_factory.mktemp("secure-broker")
    tls = make_tls_material(workdir / "tls")
    process, broker = start_mosquitto(workdir, secure_broker_config(workdir, tls, USERS, ACL, require_client_cert=True))
    yield SecureBroker(broker, tls)
    stop_process(process)


def _secure_config(secure: SecureBroker, banks_dir: Path, password: str, tmp_path: Path) -> dict:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(password + "\n")
    config = line_config(secure.broker, banks_dir)
    config["broker"].update(username="inspectd", password_file=str(password_file), tls={
        "ca_file": str(secure.tls.ca_cert), "cert_file": str(secure.tls.client_cert),
        "key_file": str(secure.tls.client_key)})
    return config


def _client_options(secure: SecureBroker, user: str):
    def configure(client: paho.Client) -> None:
        client.tls_set(ca_certs=str(secure.tls.ca_cert), certfile=str(secure.tls.client_cert),
                       keyfile=str(secure.tls.client_key))
        client.username_pw_set(user, USERS[user])
    return configure


def test_right_credentials_over_tls_inspect_parts(secure_broker: SecureBroker, banks_dir: Path, golden_images,
                                                 start_daemon, line_client, tmp_path: Path) -> None:
    daemon = start_daemon(_secure_config(secure_broker, banks_dir, USERS["inspectd"], tmp_path))
    plc = line_client(secure_broker.broker, "plc", subscriptions=("inspectd/#",),
                      configure=_client_options(secure_broker, "plc"))
    for i in range(3):
        plc.publish(IMAGE_TOPIC, json_part(encode(golden_images[1 + i]), f"tls-{i}"))
    results = plc.wait_results(3)
    assert [r["verdict"] in ("pass", "fail") for r in results] == [True] * 3
    assert daemon.metric("inspectd_broker_connected") == 1
    assert b"online" in [payload for topic, payload in plc.messages if topic == "inspectd/available"]


def test_wrong_password_fails_clearly_without_crash_loop(secure_broker: SecureBroker, banks_dir: Path,
                                                        start_daemon, tmp_path: Path) -> None:
    daemon = start_daemon(_secure_config(secure_broker, banks_dir, "wrong-password", tmp_path))
    time.sleep(REFUSAL_WATCH_S)
    refusals = daemon.logged("mqtt_connect_refused")
    assert refusals, daemon.tail()
    assert "Not authorized" in refusals[0]["reason"] or "Bad user name or password" in refusals[0]["reason"]
    assert daemon.metric("inspectd_broker_connected") == 0
    assert daemon.process.poll() is None, "inspectd exited on a refused login"
    # backoff between reconnect_min_s (0.2 s) and reconnect_max_s (1 s): no tight loop
    assert len(refusals) <= REFUSAL_WATCH_S / 0.2 + 5, f"{len(refusals)} refusals in {REFUSAL_WATCH_S}s"
    print(f"wrong password: {len(refusals)} refusals logged in about {REFUSAL_WATCH_S + 5:.0f}s, reason {refusals[0]['reason']!r}")


def test_inspectd_identity_is_confined_by_the_acl(secure_broker: SecureBroker, line_client) -> None:
    """What an attacker with inspectd's credentials could do: nothing outside factory/line and inspectd/."""
    intruder = line_client(secure_broker.broker, "as-inspectd", subscriptions=("plant/#", "factory/#"),
                           configure=_client_options(secure_broker, "inspectd"))
    plc = line_client(secure_broker.broker, "plc-secret-reader", subscriptions=("plant/secret/#",),
                      configure=_client_options(secure_broker, "plc"))
    plc.publish("plant/secret/recipe", b"classified")  # mosquitto grants the subscription, delivers nothing
    intruder.publish("plant/secret/valve", b"open")  # dropped by the broker: not in inspectd's ACL
    plc.publish(IMAGE_TOPIC, b"allowed")  # the control: inspectd may read its image topic
    intruder.wait_for(lambda: bool(intruder.received("/image")), "message on the allowed image topic", 5)
    time.sleep(0.3)
    assert [topic for topic, _ in intruder.messages] == [IMAGE_TOPIC]
    assert [topic for topic, _ in plc.messages] == ["plant/secret/recipe"]
