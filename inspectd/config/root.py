"""The whole configuration file: sections assembled, then checked against each other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inspectd.config.broker import BrokerConfig
from inspectd.config.cameras import CameraConfig
from inspectd.config.commands import CommandsConfig
from inspectd.config.console import ConsoleConfig, console_problems
from inspectd.config.logs import LoggingConfig
from inspectd.config.metrics import MetricsConfig
from inspectd.config.mqtt_inputs import MqttInputConfig
from inspectd.config.products import ProductConfig
from inspectd.config.schema import NAME_PATTERN, ConfigError, build, setting
from inspectd.config.storage import StorageConfig

RESERVED_SOURCE_NAMES = frozenset({"available", "events", "reload", "feedback"})
"""Topic levels under the prefix that belong to the daemon, not to a source."""


@dataclass(frozen=True)
class InspectdConfig:
    products: dict[str, ProductConfig] = setting()
    broker: BrokerConfig | None = setting(None, doc="omit to run without MQTT (results to the log and disk)")
    cameras: list[CameraConfig] = setting(default_factory=list)
    mqtt_inputs: list[MqttInputConfig] = setting(default_factory=list)
    storage: StorageConfig | None = setting(None)
    metrics: MetricsConfig = setting(default_factory=MetricsConfig)
    logging: LoggingConfig = setting(default_factory=LoggingConfig)
    commands: CommandsConfig = setting(default_factory=CommandsConfig)
    console: ConsoleConfig = setting(default_factory=ConsoleConfig)
    shutdown_drain_s: float = setting(30.0, minimum=0.0, doc="on SIGTERM, how long queued frames may take to finish")
    reduced_jpeg_decode: bool = setting(True, doc="decode a large JPEG at 1/2, 1/4 or 1/8 of its size when the "
                                        "products' overlays and detectors need no more (docs/performance.md); "
                                        "false: always full size")

    @property
    def source_names(self) -> list[str]:
        return [c.name for c in self.cameras] + [i.name for i in self.mqtt_inputs]


def parse_config(data: Any, source: str = "config") -> InspectdConfig:
    """Validate already-loaded YAML data; raises :class:`ConfigError` naming every wrong key."""
    try:
        config = build(InspectdConfig, data)
    except ConfigError as error:
        raise ConfigError(error.problems, source) from None
    problems = _cross_check(config)
    if problems:
        raise ConfigError(problems, source)
    return config


def load_config(path: Path) -> InspectdConfig:
    """Read and validate a YAML config file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.MarkedYAMLError as error:
        raise ConfigError([yaml_syntax_problem(error)], str(path)) from None
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([f"cannot read: {error}"], str(path)) from None
    return parse_config(data, str(path))


def yaml_syntax_problem(error: yaml.MarkedYAMLError) -> str:
    """'line L, column C: YAML syntax error: ...' at the place the parser gave up, with where the construct it
    was reading began (the file's name is the ConfigError's source)."""
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = ""
    if error.context and error.context_mark is not None:
        context = f" ({error.context} that starts at line {error.context_mark.line + 1})"
    return f"{where}YAML syntax error: {error.problem or error.context}{context}"


def _cross_check(config: InspectdConfig) -> list[str]:
    problems = []
    for product in config.products:
        if not re.fullmatch(NAME_PATTERN, product):
            problems.append(f"products.{product}: got {product!r}, expected a name matching {NAME_PATTERN}")
    seen: set[str] = set()
    named = [(f"cameras[{i}]", c.name, c.product) for i, c in enumerate(config.cameras)]
    named += [(f"mqtt_inputs[{i}]", m.name, m.product) for i, m in enumerate(config.mqtt_inputs)]
    for path, name, product in named:
        if name in seen or name in RESERVED_SOURCE_NAMES:
            problems.append(f"{path}.name: got {name!r}, expected a name not used by another source nor one of {sorted(RESERVED_SOURCE_NAMES)}")
        seen.add(name)
        if product is not None and product not in config.products:
            problems.append(f"{path}.product: got {product!r}, expected one of products: {', '.join(config.products)}")
    if config.broker is None:
        needs_broker = [f"mqtt_inputs[{i}]" for i in range(len(config.mqtt_inputs))]
        needs_broker += [f"cameras[{i}].trigger" for i, c in enumerate(config.cameras) if c.trigger.mode == "topic"]
        needs_broker += ["commands"] if config.commands.enabled else []
        problems += [f"{p}: needs a broker section, none is configured" for p in needs_broker]
    if not named:
        problems.append("cameras, mqtt_inputs: got none, expected at least one source")
    return problems + console_problems(config.console)
