"""Config: every wrong key names its path, the value and what was expected; examples validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspectd.config import ConfigError, load_config, parse_config
from inspectd.demo.line import demo_config

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"products": {"bottle": {"banks_dir": "/var/lib/inspectd/banks"}},
           "cameras": [{"name": "cam1", "source": {"uri": "line.mp4"}, "product": "bottle"}]}


def problems(data) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    return raised.value.problems


def with_changes(**sections):
    return {**MINIMAL, **sections}


def test_defaults_are_safe():
    config = parse_config(MINIMAL)
    assert config.broker is None and config.storage is None
    assert config.commands.enabled is False
    assert config.metrics.bind == "127.0.0.1"
    assert config.cameras[0].trigger.mode == "free_run"


@pytest.mark.parametrize("data, expected", [
    (with_changes(brokr={}), "brokr: unknown key; expected one of broker, cameras"),
    (with_changes(broker={"port": 70000}), "broker.port: got 70000, expected a number <= 65535"),
    (with_changes(broker={"port": "1883"}), "broker.port: got '1883', expected an integer"),
    (with_changes(broker={"protocol": "v3"}), "broker.protocol: got 'v3', expected one of 'v5', 'v311'"),
    (with_changes(broker={"password": "x", "password_env": "P"}), "broker: got {'password': 'x', 'password_env': 'P'}, expected only one of password, password_env, password_file"),
    (with_changes(cameras=[{"name": "Cam 1", "source": {"uri": "x"}}]), "cameras[0].name: got 'Cam 1', expected a string matching"),
    (with_changes(cameras=[{"name": "c", "source": {"uri": "x", "index": 0}}]), "cameras[0].source: got {'uri': 'x', 'index': 0}, expected exactly one of source.uri or source.index"),
    (with_changes(cameras=[{"name": "c", "source": {"uri": "x"}, "fps": 0}]), "cameras[0].fps: got 0.0, expected a number >= 0.01"),
    (with_changes(cameras=[{"name": "c", "source": {"uri": "x"}, "product": "screw"}]), "cameras[0].product: got 'screw', expected one of products: bottle"),
    (with_changes(cameras=[{"name": "c", "source": {"uri": "x"}, "trigger": {"mode": "topic"}}]), "cameras[0].trigger: needs a broker section"),
    (with_changes(cameras=[{"name": "events", "source": {"uri": "x"}}]), "cameras[0].name: got 'events', expected a name not used"),
    (with_changes(products={"bottle": {"banks_dir": "b", "heatmap": {"format": "gif"}}}), "products.bottle.heatmap.format: got 'gif', expected one of 'jpeg', 'png'"),
    (with_changes(products={"../x": {"banks_dir": "b"}}), "products.../x: got '../x', expected a name matching"),
    (with_changes(products={"bottle": {}}), "products.bottle.banks_dir: missing, expected a path"),
    (with_changes(mqtt_inputs=[{"name": "m", "topic": "t"}]), "mqtt_inputs[0]: needs a broker section"),
    (with_changes(mqtt_inputs=[{"name": "m", "topic": "t", "payload": "xml"}], broker={}), "mqtt_inputs[0].payload: got 'xml', expected one of 'raw', 'json'"),
    (with_changes(storage={"results_dir": "r", "save": "some"}), "storage.save: got 'some', expected one of 'all', 'fail', 'none'"),
    (with_changes(cameras=[]), "cameras, mqtt_inputs: got none, expected at least one source"),
])
def test_errors_name_key_value_and_expectation(data, expected):
    found = problems(data)
    assert any(p.startswith(expected) for p in found), found


def test_all_problems_reported_at_once():
    found = problems(with_changes(broker={"port": 0, "keepalive_s": "x"}, metrics={"bind": 5}))
    assert {p.split(":")[0] for p in found} == {"broker.port", "broker.keepalive_s", "metrics.bind"}


def test_password_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECTD_TEST_PASSWORD", "from-env")
    (tmp_path / "secret").write_text("from-file\n")
    assert parse_config(with_changes(broker={"password_env": "INSPECTD_TEST_PASSWORD"})).broker.resolve_password() == "from-env"
    assert parse_config(with_changes(broker={"password_file": str(tmp_path / "secret")})).broker.resolve_password() == "from-file"


def test_example_configs_validate(tmp_path):
    load_config(REPO / "config" / "line3.yaml")
    load_config(REPO / "config" / "quickstart.yaml")
    parse_config(demo_config(tmp_path, metrics_port=9108, console_port=8089, fps=4.0, loop=False, parts=24))


def test_check_config_command(tmp_path):
    inspectd = str(Path(sys.executable).with_name("inspectd"))
    good = subprocess.run([inspectd, "check-config", str(REPO / "config" / "quickstart.yaml")], capture_output=True,
                          text=True)
    assert good.returncode == 0 and "ok" in good.stdout
    (tmp_path / "bad.yaml").write_text("products: {bottle: {banks_dir: b, threshold: -1}}\ncameras: []\n")
    bad = subprocess.run([inspectd, "check-config", str(tmp_path / "bad.yaml")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "products.bottle.threshold: got -1.0, expected a number >= 0.0" in bad.stderr


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text("products:\n  bottle:\n    banks_dir: banks\n   cameras: []\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: 1 problem(s)\n")
    assert raised.value.problems == ["line 4, column 4: YAML syntax error: expected <block end>, but found "
                                     "'<block mapping start>' (while parsing a block mapping that starts at line 2)"]
