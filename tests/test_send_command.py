"""`inspectd send`: image files to a running daemon's MQTT input through a real mosquitto, each answered on the
command line with its verdict; raw and JSON inputs; the errors a newcomer meets first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from support.broker import free_port
from support.images import encode
from support.inprocess import daemon_config, fit_both_products, running_daemon, small_images

from inspectd.cli import app

INSPECTD = str(Path(sys.executable).with_name("inspectd"))


def send(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([INSPECTD, "send", *arguments], capture_output=True, text=True, timeout=120)


def test_send_prints_the_result_of_each_image(mqtt_broker, tmp_path, data_root) -> None:
    banks = fit_both_products(tmp_path / "banks", data_root)
    inputs = [{"name": "raw-station", "topic": "parts/raw", "product": "bottle", "payload": "raw"},
              {"name": "json-station", "topic": "parts/json", "product": "bottle", "payload": "json"}]
    config = daemon_config(banks, mqtt_broker, prefix="quick", mqtt_inputs=inputs)
    config_path = tmp_path / "quick.yaml"
    config_path.write_text(yaml.safe_dump(config))
    images = []
    for name, image in zip(("good.png", "broken.jpg"), small_images(data_root, "bottle", "test/good", 1)
                           + small_images(data_root, "bottle", "test/broken_large", 1)):
        images.append(tmp_path / name)
        images[-1].write_bytes(encode(image, images[-1].suffix))
    with running_daemon(config):  # logs to this process's stdout: the command runs as its own process
        raw = send("--config", str(config_path), "--input", "raw-station", *map(str, images))
        wrapped = send("--config", str(config_path), "--input", "json-station", "--json", str(images[1]))
    assert raw.returncode == 0, raw.stderr
    lines = raw.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(path) for path in images]
    for line in lines:
        verdict = line.split(": ")[1].split()[0]
        assert verdict in ("pass", "fail") and " bank v0001, " in line and ", frame " in line
    assert lines[1].split(": ")[1].startswith("fail score ")  # the broken bottle
    assert wrapped.returncode == 0, wrapped.stderr
    summary, _, result_json = wrapped.stdout.partition("\n")
    result = json.loads(result_json)
    assert result["part_id"] == "broken.jpg" and result["source"] == "json-station"
    assert summary.startswith(f"{images[1]}: {result['verdict']} score {result['score']:.4f} "
                              f"(threshold {result['threshold']:.4f}, calibrated {result['calibrated_score']:.2f}), ")
    assert summary.endswith(f"frame {result['frame_id']}")


def test_send_says_which_input_to_choose_and_when_no_broker_or_daemon_answers(mqtt_broker, tmp_path) -> None:
    inputs = [{"name": "a", "topic": "parts/a", "product": "bottle"}, {"name": "b", "topic": "parts/b", "product": "bottle"}]
    config = daemon_config(tmp_path / "banks", None, mqtt_inputs=inputs)
    config["broker"] = {"host": "127.0.0.1", "port": free_port()}
    config_path = tmp_path / "line.yaml"
    config_path.write_text(yaml.safe_dump(config))
    image = tmp_path / "part.png"
    image.write_bytes(b"not read before the input is chosen")
    ambiguous = CliRunner().invoke(app, ["send", "--config", str(config_path), str(image)])
    assert ambiguous.exit_code == 2
    assert ambiguous.output == "send: the config has 2 mqtt inputs; choose one with --input (a, b)\n"
    unreachable = CliRunner().invoke(app, ["send", "--config", str(config_path), "--input", "b", str(image)])
    assert unreachable.exit_code == 2
    assert unreachable.output.startswith(f"send: cannot reach the broker at 127.0.0.1:{config['broker']['port']}: ")
    config["broker"] = {"host": mqtt_broker.host, "port": mqtt_broker.port, "topic_prefix": "nobody"}
    config_path.write_text(yaml.safe_dump(config))
    no_daemon = CliRunner().invoke(app, ["send", "--config", str(config_path), "--input", "a", "--wait", "2",
                                         str(image)])
    assert no_daemon.exit_code == 2
    assert no_daemon.output == ("send: waiting up to 2 s for the daemon to come online on nobody/available ...\n"
                                "send: no daemon is online on nobody/available after 2 s (start it with "
                                "`inspectd run --config` on this config)\n")
