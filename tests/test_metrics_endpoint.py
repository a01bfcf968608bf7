"""/metrics: per-daemon registry, localhost by default, the documented families present."""

from __future__ import annotations

import re
from importlib.metadata import version

from inspectd.daemon.metrics import DaemonMetrics
from support.inprocess import daemon_config, fit_product_bank, running_daemon, scrape, scrape_text

DOCUMENTED = {
    "inspectd_frames_received_total", "inspectd_frames_processed_total", "inspectd_frames_dropped_total",
    "inspectd_frames_failed_total", "inspectd_verdicts_total", "inspectd_stage_latency_seconds",
    "inspectd_anomaly_score", "inspectd_queue_depth", "inspectd_batch_size", "inspectd_bank_version",
    "inspectd_bank_size", "inspectd_reloads_total", "inspectd_source_up", "inspectd_broker_connected",
    "inspectd_mqtt_messages_shed_total", "inspectd_sink_errors_total", "inspectd_build_info",
}


def test_each_daemon_has_its_own_registry():
    first, second = DaemonMetrics(), DaemonMetrics()
    first.frames_received.labels("cam").inc()
    assert second.registry.get_sample_value("inspectd_frames_received_total", {"source": "cam"}) is None


def test_metrics_served_on_localhost_with_documented_names(tmp_path, data_root):
    banks = tmp_path / "banks"
    fit_product_bank(banks, data_root, "bottle")
    folder = tmp_path / "empty"
    folder.mkdir()
    config = daemon_config(banks, cameras=[{"name": "cam", "source": {"type": "image_folder", "uri": str(folder)},
                                            "product": "bottle"}])
    with running_daemon(config) as daemon:
        assert daemon.metrics_server.server_address[0] == "127.0.0.1"
        samples = scrape(daemon.metrics_port)
        families = set(re.findall(r"^# TYPE (\S+) ", scrape_text(daemon.metrics_port), re.MULTILINE))
    assert DOCUMENTED <= families
    build = [dict(labels) for name, labels in samples if name == "inspectd_build_info"]
    assert build[0]["version"] == version("inspectd")
    assert samples[("inspectd_source_up", (("source", "cam"),))] == 0
    assert samples[("inspectd_bank_version", (("product", "bottle"),))] == 1
    assert samples[("inspectd_broker_connected", ())] == 0
