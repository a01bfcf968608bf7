"""Bank files: bit-exact round trip, versioning, and every corruption refused with its message."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from inspectd.detector import Bank, BankError, BankStore, DetectorSettings, fit_bank, load_bank
from inspectd.detector.bank import CHECKSUM_FILE, MANIFEST_FILE, MEMORY_FILE
from inspectd.detector.settings import AugmentationSet

SMALL = DetectorSettings(input_size=160, augmentations=AugmentationSet(rotations=2))


@pytest.fixture(scope="module")
def bank() -> Bank:
    rng = np.random.default_rng(0)
    return fit_bank([rng.integers(0, 255, (120, 150, 3), dtype=np.uint8) for _ in range(2)], SMALL)


def rewrite_checksums(version_dir: Path) -> None:
    """What an attacker or a bug would do: alter a file and recompute the sums."""
    lines = [f"{hashlib.sha256((version_dir / n).read_bytes()).hexdigest()}  {n}\n" for n in (MEMORY_FILE, MANIFEST_FILE)]
    (version_dir / CHECKSUM_FILE).write_text("".join(lines))


def edit_manifest(version_dir: Path, **changes) -> None:
    manifest = json.loads((version_dir / MANIFEST_FILE).read_text())
    manifest.update(changes)
    (version_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    rewrite_checksums(version_dir)


def test_round_trip_is_bit_exact_and_versions_increase(tmp_path, bank) -> None:
    store = BankStore(tmp_path)
    first, second = store.write("bottle-A.1", bank), store.write("bottle-A.1", bank)
    assert (first.name, second.name) == ("v0001", "v0002")
    assert store.latest("bottle-A.1") == second and store.versions("bottle-A.1") == [first, second]
    loaded = load_bank(second)
    assert loaded.version == "v0002"
    assert loaded.memory.tobytes() == bank.memory.tobytes() and loaded.memory.dtype == np.float32
    assert loaded.manifest == json.loads(json.dumps(bank.manifest))
    assert loaded.threshold == bank.threshold
    assert not [p for p in (tmp_path / "bottle-A.1").iterdir() if p.name.startswith(".staging")]


def test_format_2_bank_without_holdout_arrays_is_not_written(tmp_path, bank) -> None:
    stripped = Bank(memory=bank.memory, manifest=bank.manifest)  # as a bank built by hand would be
    with pytest.raises(BankError, match="no hold-out arrays"):
        BankStore(tmp_path).write("bottle", stripped)
    assert BankStore(tmp_path).latest("bottle") is None


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 65, "bad name"])
def test_invalid_product_names_refused(tmp_path, name: str) -> None:
    with pytest.raises(BankError, match="invalid product name"):
        BankStore(tmp_path).latest(name)


def corrupt_truncated(d: Path) -> None:
    data = (d / MEMORY_FILE).read_bytes()
    (d / MEMORY_FILE).write_bytes(data[: len(data) // 2])


def corrupt_bit_flip(d: Path) -> None:
    data = bytearray((d / MEMORY_FILE).read_bytes())
    data[len(data) - 10] ^= 0x01
    (d / MEMORY_FILE).write_bytes(bytes(data))


def corrupt_format_version(d: Path) -> None:
    edit_manifest(d, format_version=99)


def corrupt_other_backbone(d: Path) -> None:
    edit_manifest(d, backbone={"name": "efficientnet_lite0", "weights_sha256": "0" * 64})


def corrupt_missing_manifest(d: Path) -> None:
    (d / MANIFEST_FILE).unlink()


def corrupt_pickle(d: Path) -> None:
    (d / MEMORY_FILE).write_bytes(pickle.dumps({"memory": np.zeros((3, 3), np.float32)}))
    rewrite_checksums(d)


def corrupt_missing_checksums(d: Path) -> None:
    (d / CHECKSUM_FILE).unlink()


@pytest.mark.parametrize("corrupt, message", [
    (corrupt_truncated, "checksum mismatch for memory.npz"),
    (corrupt_bit_flip, "checksum mismatch for memory.npz"),
    (corrupt_format_version, "format version 99 is not supported"),
    (corrupt_other_backbone, "backbone mismatch"),
    (corrupt_missing_manifest, "missing manifest"),
    (corrupt_pickle, "not a valid bank array file"),
    (corrupt_missing_checksums, "missing checksum file"),
])
def test_corrupt_bank_refused(tmp_path, bank, corrupt, message: str) -> None:
    version_dir = BankStore(tmp_path).write("p", bank)
    corrupt(version_dir)
    with pytest.raises(BankError, match=message):
        load_bank(version_dir)
