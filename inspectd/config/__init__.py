"""Typed, validated configuration: one module per section, assembled in :mod:`inspectd.config.root`."""

from inspectd.config.root import InspectdConfig, load_config, parse_config
from inspectd.config.schema import ConfigError

__all__ = ["ConfigError", "InspectdConfig", "load_config", "parse_config"]
