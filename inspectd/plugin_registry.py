"""Find plugins (backbones, sources, sinks) by name.

A plugin is any object exposed under one of the entry-point groups
``inspectd.backbones``, ``inspectd.sources`` or ``inspectd.sinks``. The built-in
ones live in the top-level ``plugins/`` folder (installed as ``inspectd_plugins``)
and are declared in inspectd's own pyproject.toml; a site adds its own camera or
PLC sink by declaring an entry point in its own package, without touching the
pipeline.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

PLUGIN_KINDS = ("backbones", "sources", "sinks")


class PluginNotFound(LookupError):
    """No plugin of that kind is registered under that name."""


def available(kind: str) -> list[str]:
    """Names of the installed plugins of one kind, sorted."""
    _check_kind(kind)
    return sorted(ep.name for ep in entry_points(group=f"inspectd.{kind}"))


def load(kind: str, name: str) -> Any:
    """Import and return the plugin object registered as ``name``."""
    _check_kind(kind)
    matches = [ep for ep in entry_points(group=f"inspectd.{kind}") if ep.name == name]
    if not matches:
        known = ", ".join(available(kind)) or "none"
        raise PluginNotFound(f"no {kind[:-1]} plugin named {name!r} (installed: {known})")
    return matches[0].load()


def _check_kind(kind: str) -> None:
    if kind not in PLUGIN_KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {PLUGIN_KINDS}")
