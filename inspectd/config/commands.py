"""``commands:`` — MQTT command topics. Off unless enabled; they only act on configured names."""

from __future__ import annotations

from dataclasses import dataclass

from inspectd.config.schema import setting


@dataclass(frozen=True)
class CommandsConfig:
    enabled: bool = setting(False, doc="listen on <prefix>/<source>/product/set and <prefix>/reload/set")
    recipe_change: bool = setting(True, doc="allow <prefix>/<source>/product/set when commands are enabled")
    reload: bool = setting(True, doc="allow <prefix>/reload/set when commands are enabled")
    feedback: bool = setting(True, doc="allow <prefix>/<product>/feedback/set (operator marks a kept frame good or defective)")
