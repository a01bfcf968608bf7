"""What ``inspectd run`` and ``inspectd check-config`` do."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from inspectd.config import ConfigError, InspectdConfig, load_config
from inspectd.daemon.logs import configure_logging

EXIT_CONFIG_ERROR = 2


def check_config_file(path: Path) -> int:
    """Validate a config file and the files it names; print the problems (exit 2) or a one-line summary and
    any warnings, such as a product with no bank yet (exit 0; daemon/preflight.py)."""
    from inspectd.daemon.preflight import config_warnings, missing_files

    config = _load_or_report(path)
    if config is None:
        return EXIT_CONFIG_ERROR
    problems = missing_files(config)
    if problems:
        print(ConfigError(problems, str(path)), file=sys.stderr)
    else:
        print(f"{path}: ok ({_summary(config)})")
    for warning in config_warnings(config, path):
        print(f"  warning: {warning}", file=sys.stderr if problems else sys.stdout)
    return EXIT_CONFIG_ERROR if problems else 0


def run_from_file(path: Path) -> int:
    """Run the daemon until SIGTERM/SIGINT; exit 0 after a clean drain, 2 on a bad config."""
    config = _load_or_report(path)
    if config is None:
        return EXIT_CONFIG_ERROR
    configure_logging(config.logging)
    from inspectd.daemon.service import Daemon  # imports torch: not needed by check-config

    daemon = Daemon(config)
    daemon.run_forever()
    if daemon.sources_lingering:
        # Everything is published and disconnected. Finalizing the interpreter under a thread still in
        # OpenCV's open() would abort the process (the thread's forced exit unwinds C++ frames): leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _load_or_report(path: Path) -> InspectdConfig | None:
    try:
        return load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None


def _summary(config: InspectdConfig) -> str:
    broker = f"broker {config.broker.host}:{config.broker.port}" if config.broker else "no broker"
    return (f"{len(config.products)} product(s), {len(config.cameras)} camera(s), "
            f"{len(config.mqtt_inputs)} mqtt input(s), {broker}")
