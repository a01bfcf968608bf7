"""Invalid configs through ``inspectd check-config``: exit 2, and each problem line names the key path,
the value found and what was expected; unknown keys are errors. A valid config exits 0."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.broker import Broker
from support.daemon import check_config
from support.line import line_config

Config = dict[str, Any]


def _base(tmp_path: Path) -> Config:
    return line_config(Broker("127.0.0.1", 1883, tmp_path / "unused.conf"), tmp_path / "banks")


def _set(path: str, value: Any) -> Callable[[Config], None]:
    """Set a dotted key path (list items as ``name[0]``) to ``value``."""

    def apply(config: Config) -> None:
        *parents, leaf = path.split(".")
        node: Any = config
        for part in parents:
            name, _, index = part.partition("[")
            node = node.setdefault(name, {})
            if index:
                node = node[int(index.rstrip("]"))]
        node[leaf] = value

    return apply


def _delete(key: str) -> Callable[[Config], None]:
    return lambda config: config.pop(key)


CASES: list[tuple[str, Callable[[Config], None], list[str]]] = [
    ("unknown_top_level_key", _set("brokr", {}), ["brokr: unknown key", "expected one of"]),
    ("unknown_nested_key", _set("products.bottle.thresold", 3), ["products.bottle.thresold: unknown key"]),
    ("port_out_of_range", _set("broker.port", 70000), ["broker.port: got 70000, expected a number <= 65535"]),
    ("port_as_text", _set("broker.port", "1883"), ["broker.port: got '1883', expected an integer"]),
    ("protocol_unknown", _set("broker.protocol", "v4"), ["broker.protocol: got 'v4', expected one of 'v5', 'v311'"]),
    ("client_id_pattern", _set("broker.client_id", "bad id!"), ["broker.client_id: got 'bad id!', expected a string matching"]),
    ("payload_kind", _set("mqtt_inputs[0].payload", "xml"), ["mqtt_inputs[0].payload: got 'xml', expected one of 'raw', 'json'"]),
    ("payload_cap_too_small", _set("mqtt_inputs[0].max_payload_bytes", 10), ["mqtt_inputs[0].max_payload_bytes: got 10, expected a number >= 1024"]),
    ("input_unknown_product", _set("mqtt_inputs[0].product", "cable"), ["mqtt_inputs[0].product: got 'cable', expected one of products: bottle"]),
    ("input_topic_wildcard_first", _set("mqtt_inputs[0].topic", "#"), ["mqtt_inputs[0].topic: got '#', expected a string matching"]),
    ("product_name_traversal", lambda c: c["products"].update({"../../etc": {"banks_dir": "/tmp"}}), ["products.../../etc: got '../../etc', expected a name matching"]),
    ("metrics_bind_not_text", _set("metrics.bind", 127), ["metrics.bind: got 127, expected a string"]),
    ("log_level", _set("logging.level", "verbose"), ["logging.level: got 'verbose', expected one of"]),
    ("heatmap_delivery", _set("products.bottle.heatmap.delivery", "email"), ["products.bottle.heatmap.delivery: got 'email', expected one of 'topic', 'inline'"]),
    ("queue_size_zero", _set("products.bottle.queue_size", 0), ["products.bottle.queue_size: got 0, expected a number >= 1"]),
    ("products_missing", _delete("products"), ["products: missing, expected a mapping of names to"]),
    ("camera_without_source_target", _set("cameras", [{"name": "cam", "source": {"type": "opencv"}}]), ["cameras[0].source: got", "exactly one of source.uri or source.index"]),
    ("tls_cert_without_key", _set("broker.tls", {"ca_file": "/ca.crt", "cert_file": "/c.crt"}), ["broker.tls: got", "cert_file and key_file given together or not at all"]),
    ("two_password_sources", lambda c: c["broker"].update(password="x", password_env="PW"), ["broker: got", "only one of password, password_env, password_file"]),
    ("commands_without_broker", lambda c: (c.pop("broker"), c.pop("mqtt_inputs"), c.update(commands={"enabled": True},
     cameras=[{"name": "cam", "source": {"index": 0}}])), ["commands: needs a broker section"]),
    ("reserved_source_name", _set("mqtt_inputs[0].name", "events"), ["mqtt_inputs[0].name: got 'events', expected a name not used"]),
    ("no_source", lambda c: c.pop("mqtt_inputs"), ["cameras, mqtt_inputs: got none, expected at least one source"]),
]


@pytest.mark.parametrize(("change", "expected_lines"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_config_names_key_path_and_expectation(tmp_path: Path, change: Callable[[Config], None],
                                                       expected_lines: list[str]) -> None:
    config = copy.deepcopy(_base(tmp_path))
    change(config)
    path = tmp_path / "inspectd.yaml"
    path.write_text(yaml.safe_dump(config))
    checked = check_config(path)
    assert checked.returncode == 2, checked
    assert "Traceback" not in checked.stderr
    for expected in expected_lines:
        assert expected in checked.stderr, f"{expected!r} not in:\n{checked.stderr}"


@pytest.mark.parametrize(("text", "expected"), [
    ("products: [unclosed\n", "line 2, column 1: YAML syntax error: expected ',' or ']'"),
    ("- a list\n- at the root\n", "<root>: got ['a list', 'at the root'], expected a mapping"),
])
def test_unreadable_config_file_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "inspectd.yaml"
    path.write_text(text)
    checked = check_config(path)
    assert checked.returncode == 2 and expected in checked.stderr, checked.stderr


def test_valid_config_passes(tmp_path: Path) -> None:
    path = tmp_path / "inspectd.yaml"
    path.write_text(yaml.safe_dump(_base(tmp_path)))
    checked = check_config(path)
    assert checked.returncode == 0, checked.stderr
    assert ": ok (1 product(s)" in checked.stdout
