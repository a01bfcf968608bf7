"""What ``check-config`` checks beyond the config's own keys: the files it names.

Missing TLS and password files are errors: the daemon cannot reach its broker without them. A product
without a loadable bank is a warning: that is every product's state before its first ``inspectd refit``,
and the daemon serves the other products meanwhile (that product's frames fail with ``no_bank``).
"""

from __future__ import annotations

import os
from pathlib import Path

from inspectd.config import InspectdConfig


def missing_files(config: InspectdConfig) -> list[str]:
    """One problem per file the broker section names that cannot be read, with its key path."""
    broker = config.broker
    if broker is None:
        return []
    named: list[tuple[str, Path | None]] = [("broker.password_file", broker.password_file)]
    if broker.tls is not None:
        named += [(f"broker.tls.{key}", getattr(broker.tls, key)) for key in ("ca_file", "cert_file", "key_file")]
    return [f"{key}: {path} {_unreadable(path)}" for key, path in named if path is not None and _unreadable(path)]


def _unreadable(path: Path) -> str:
    """Why ``path`` cannot be read ('' when it can)."""
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    return "" if os.access(path, os.R_OK) else "is not readable by this user"


def config_warnings(config: InspectdConfig, config_path: Path) -> list[str]:
    """What lets the daemon start but fails frames or logins: a product with no loadable bank, an unset
    password variable."""
    warnings = [_bank_warning(name, product.banks_dir, config_path) for name, product in config.products.items()]
    broker = config.broker
    if broker is not None and broker.password_env is not None and broker.password_env not in os.environ:
        warnings.append(f"broker.password_env: {broker.password_env} is not set in this environment "
                        "(the service's environment may set it)")
    return [warning for warning in warnings if warning]


def _bank_warning(product: str, banks_dir: Path, config_path: Path) -> str:
    """'' when the product's newest loadable version exists, else what is wrong and the command that fixes it."""
    if not (banks_dir / product).is_dir():  # the usual case before a first refit: no need to import torch
        return _no_bank(product, banks_dir, config_path, "no bank yet")
    from inspectd.detector.bank import BankError, BankStore, load_bank

    versions = BankStore(banks_dir).versions(product)
    refused = []
    for version_dir in reversed(versions):
        try:
            load_bank(version_dir)
            return ""
        except BankError as error:
            refused.append(str(error))
    found = f"none of its {len(versions)} version(s) loads ({'; '.join(refused)})" if versions else "no bank yet"
    return _no_bank(product, banks_dir, config_path, found)


def _no_bank(product: str, banks_dir: Path, config_path: Path, found: str) -> str:
    return (f"products.{product}.banks_dir: {found} under {banks_dir / product}; its frames fail with no_bank "
            f"until `inspectd refit --product {product} --golden DIR --config {config_path}`")
