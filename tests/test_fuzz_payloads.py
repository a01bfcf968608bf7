"""Bad and random MQTT image payloads: every one is answered (a verdict or an error result with a
reason), counted in /metrics, and the daemon stays up. Faults: the payload catalogue of issue 6."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspectd.detector import Bank
from support.banks import write_bank
from support.broker import start_mosquitto, stop_process
from support.daemon import DaemonProcess
from support.line import IMAGE_TOPIC, INPUT, PRODUCT, accounted, assert_all_accounted, line_config
from support.mqtt_client import LineClient
from support.payloads import MAX_IMAGE_PIXELS, MAX_PAYLOAD_BYTES, bad_payloads, fuzz_payloads

RAW_INPUT, RAW_TOPIC = "raw", "factory/raw/image"
FUZZ_COUNT = int(os.environ.get("INSPECTD_FUZZ_COUNT", "2000"))
# Generous: on a loaded 2-core machine 2000 payloads took over 120 s; an idle one answers far sooner.
FUZZ_ANSWER_TIMEOUT_S = 600


class PayloadLine:
    """One broker, one daemon with a JSON and a raw image input, one client: shared by this module."""

    def __init__(self, workdir: Path, tiny_bank: Bank) -> None:
        (workdir / "mosquitto").mkdir()
        self.broker_process, self.broker = start_mosquitto(workdir / "mosquitto")
        write_bank(workdir / "banks", PRODUCT, tiny_bank)
        self.results_dir = workdir / "results"
        caps = {"max_payload_bytes": MAX_PAYLOAD_BYTES, "max_image_pixels": MAX_IMAGE_PIXELS}
        config = line_config(self.broker, workdir / "banks", storage={"results_dir": str(self.results_dir)})
        config["mqtt_inputs"] = [
            {"name": INPUT, "topic": IMAGE_TOPIC, "product": PRODUCT, "payload": "json", **caps},
            {"name": RAW_INPUT, "topic": RAW_TOPIC, "product": PRODUCT, "payload": "raw", **caps},
        ]
        self.daemon = DaemonProcess(config, workdir / "daemon").start()
        self.client = LineClient(self.broker, "payload-sender", subscriptions=("inspectd/+/result",))

    def send(self, raw: bool, payload: bytes) -> None:
        self.client.publish(RAW_TOPIC if raw else IMAGE_TOPIC, payload)

    def results_of(self, source: str) -> list[dict]:
        return [r for r in self.client.results() if r["source"] == source]

    def close(self) -> None:
        self.client.close()
        self.daemon.close()
        stop_process(self.broker_process)


@pytest.fixture(scope="module")
def payload_line(tmp_path_factory: pytest.TempPathFactory, tiny_bank: Bank) -> Iterator[PayloadLine]:
    line = PayloadLine(tmp_path_factory.mktemp("payload-line"), tiny_bank)
    yield line
    line.close()


def _verdict_class(result: dict) -> str:
    return "answered" if result["verdict"] in ("pass", "fail") else result["verdict"]


def test_each_bad_payload_class_gets_its_error_result_and_counter(payload_line: PayloadLine, golden_images) -> None:
    catalogue = bad_payloads(golden_images[1])
    before = {source: accounted(payload_line.daemon, source) for source in (INPUT, RAW_INPUT)}
    answered = 0
    outcomes = {}
    for payload in catalogue:
        payload_line.send(payload.raw, payload.data)
        answered += 1
        results = payload_line.client.wait_results(answered, timeout_s=20)
        result = results[-1]
        outcomes[payload.name] = (_verdict_class(result), (result.get("error") or {}).get("reason"))
    expected = {p.name: (p.verdict, p.reason) for p in catalogue}
    assert outcomes == expected

    sent = Counter(RAW_INPUT if p.raw else INPUT for p in catalogue)
    for source in (INPUT, RAW_INPUT):
        after = accounted(payload_line.daemon, source)
        delta = {kind: after[kind] - before[source][kind] for kind in after}
        assert_all_accounted(delta, sent[source])
    failed_by_reason = Counter(p.reason for p in catalogue if p.verdict == "error")
    for reason, count in failed_by_reason.items():
        assert payload_line.daemon.metric("inspectd_frames_failed_total", reason=reason) >= count, reason


def test_network_names_never_become_paths(payload_line: PayloadLine) -> None:
    """After the traversal payloads: result files sit only at <results_dir>/<source>/<day>/<frame_id>.*"""
    assert not Path("/tmp/owned").exists()
    written = [p.relative_to(payload_line.results_dir) for p in payload_line.results_dir.rglob("*") if p.is_file()]
    assert written, "the disk sink wrote nothing"
    assert all(len(p.parts) == 3 and p.parts[0] in (INPUT, RAW_INPUT) for p in written), written
    assert all(".." not in p.as_posix() for p in written)


def test_fuzzed_payloads_are_all_answered_and_counted(payload_line: PayloadLine, golden_images) -> None:
    daemon, client = payload_line.daemon, payload_line.client
    before = {source: accounted(daemon, source) for source in (INPUT, RAW_INPUT)}
    already = len(client.results())
    sent: Counter[str] = Counter()
    for raw, payload in fuzz_payloads(golden_images[2], FUZZ_COUNT, seed=6):
        payload_line.send(raw, payload)
        sent[RAW_INPUT if raw else INPUT] += 1
    results = client.wait_results(already + FUZZ_COUNT, timeout_s=FUZZ_ANSWER_TIMEOUT_S)[already:]

    assert len(results) == FUZZ_COUNT
    assert daemon.process.poll() is None, "the daemon died under fuzzing"
    for source in (INPUT, RAW_INPUT):
        after = accounted(daemon, source)
        assert_all_accounted({kind: after[kind] - before[source][kind] for kind in after}, sent[source])
    assert daemon.metric("inspectd_mqtt_messages_shed_total") == 0
    outcome_classes = Counter(_verdict_class(r) for r in results)
    assert outcome_classes["answered"] > 0 and outcome_classes["error"] > 0, outcome_classes
    print(f"fuzz: {dict(sent)} sent, outcomes {dict(outcome_classes)}, "
          f"reasons {dict(Counter((r.get('error') or {}).get('reason') for r in results))}")
