"""`inspectd check-config` checks the files a config names: missing TLS and password files are errors (exit 2),
a product with no loadable bank is a warning (exit 0: the state of every product before its first refit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from support.inprocess import fit_product_bank

from inspectd.cli import app


def write_config(tmp_path: Path, banks: Path, broker: dict | None = None) -> Path:
    path = tmp_path / "line.yaml"
    config = {"products": {"bottle": {"banks_dir": str(banks)}},
              "broker": broker or {"host": "127.0.0.1"},
              "mqtt_inputs": [{"name": "station", "topic": "parts/bottle", "product": "bottle"}]}
    path.write_text(yaml.safe_dump(config))
    return path


def check(path: Path):
    return CliRunner().invoke(app, ["check-config", str(path)])


def test_missing_tls_and_password_files_are_errors_naming_their_keys(tmp_path) -> None:
    (tmp_path / "ca.pem").write_text("a CA bundle")
    broker = {"username": "line", "password_file": str(tmp_path / "password"),
              "tls": {"ca_file": str(tmp_path / "ca.pem"), "cert_file": str(tmp_path / "client.pem"),
                      "key_file": str(tmp_path)}}
    path = write_config(tmp_path, tmp_path / "banks", broker)
    outcome = check(path)
    assert outcome.exit_code == 2
    assert outcome.output.splitlines() == [
        f"{path}: 3 problem(s)",
        f"  - broker.password_file: {tmp_path / 'password'} does not exist",
        f"  - broker.tls.cert_file: {tmp_path / 'client.pem'} does not exist",
        f"  - broker.tls.key_file: {tmp_path} is not a file",
        f"  warning: products.bottle.banks_dir: no bank yet under {tmp_path / 'banks' / 'bottle'}; its frames fail "
        f"with no_bank until `inspectd refit --product bottle --golden DIR --config {path}`",
    ]


def test_a_product_without_a_bank_is_a_warning_with_the_command_that_fits_one(tmp_path) -> None:
    path = write_config(tmp_path, tmp_path / "banks")
    outcome = check(path)
    assert outcome.exit_code == 0
    assert outcome.output.splitlines() == [
        f"{path}: ok (1 product(s), 0 camera(s), 1 mqtt input(s), broker 127.0.0.1:1883)",
        f"  warning: products.bottle.banks_dir: no bank yet under {tmp_path / 'banks' / 'bottle'}; its frames fail "
        f"with no_bank until `inspectd refit --product bottle --golden DIR --config {path}`",
    ]


def test_a_bank_that_loads_is_quiet_and_a_damaged_one_is_named(tmp_path, data_root) -> None:
    banks = tmp_path / "banks"
    version = fit_product_bank(banks, data_root, "bottle")
    path = write_config(tmp_path, banks)
    assert check(path).output.splitlines() == [
        f"{path}: ok (1 product(s), 0 camera(s), 1 mqtt input(s), broker 127.0.0.1:1883)"]
    shutil.copytree(version, version.with_name("v0002"))
    (version.with_name("v0002") / "memory.npz").write_bytes(b"damaged")
    (version / "manifest.json").unlink()
    outcome = check(path)
    assert outcome.exit_code == 0
    warning = outcome.output.splitlines()[1]
    assert warning.startswith(f"  warning: products.bottle.banks_dir: none of its 2 version(s) loads ({version.with_name('v0002')}: ")
    assert f"{version}: missing manifest (manifest.json)) under {banks / 'bottle'}" in warning
