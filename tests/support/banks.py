"""Real banks for tests: tiny ones (one golden image, 64 px input), the broken variants the daemon must refuse, and
a small bottle bank with real test features for the search tests."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np

from inspectd.detector import AugmentationSet, Bank, BankStore, Detector, DetectorSettings, fit_bank
from inspectd.images import image_files, read_rgb

TINY_SETTINGS = DetectorSettings(input_size=64, augmentations=AugmentationSet(rotations=2), coreset=64)
# small enough for a fit per test, large enough to separate real defects (tests of the detector core)
FAST_SETTINGS = DetectorSettings(input_size=224, augmentations=AugmentationSet(rotations=4))


def fit_tiny_bank(golden_image: np.ndarray) -> Bank:
    return fit_bank([golden_image], TINY_SETTINGS)


def write_bank(banks_dir: Path, product: str, bank: Bank) -> Path:
    """Write ``bank`` as the product's next version (the way ``inspectd refit`` does)."""
    return BankStore(banks_dir).write(product, dataclasses.replace(bank, manifest=dict(bank.manifest)))


class PickleBomb:
    """Unpickling this creates ``marker``: proof that something called pickle.load on it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def _truncate(version_dir: Path, marker: Path) -> None:
    memory = version_dir / "memory.npz"
    memory.write_bytes(memory.read_bytes()[: memory.stat().st_size // 2])


def _flip_bit(version_dir: Path, marker: Path) -> None:
    memory = version_dir / "memory.npz"
    data = bytearray(memory.read_bytes())
    data[len(data) // 2] ^= 0x10
    memory.write_bytes(bytes(data))


def _edit_manifest(version_dir: Path, **changes: object) -> None:
    """Change manifest fields and re-sign the checksums, so only the content check can refuse it."""
    manifest_path = version_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for key, value in changes.items():
        manifest[key] = value
    manifest_path.write_text(json.dumps(manifest))
    resign_checksums(version_dir)


def resign_checksums(version_dir: Path) -> None:
    sums = "".join(f"{hashlib.sha256((version_dir / n).read_bytes()).hexdigest()}  {n}\n"
                   for n in ("memory.npz", "manifest.json"))
    (version_dir / "SHA256SUMS").write_text(sums)


def _wrong_format_version(version_dir: Path, marker: Path) -> None:
    _edit_manifest(version_dir, format_version=99)


def _other_backbone(version_dir: Path, marker: Path) -> None:
    backbone = json.loads((version_dir / "manifest.json").read_text())["backbone"]
    _edit_manifest(version_dir, backbone={**backbone, "weights_sha256": "0" * 64})


def _missing_manifest(version_dir: Path, marker: Path) -> None:
    (version_dir / "manifest.json").unlink()


def _pickled_memory(version_dir: Path, marker: Path) -> None:
    """memory.npz replaced by an .npz whose array is an object array holding a pickle bomb."""
    with open(version_dir / "memory.npz", "wb") as handle:
        np.savez(handle, memory=np.array([PickleBomb(marker)], dtype=object))
    resign_checksums(version_dir)


def _raw_pickle(version_dir: Path, marker: Path) -> None:
    """memory.npz is a plain pickle file (what torch.save/pickle.dump would write)."""
    (version_dir / "memory.npz").write_bytes(pickle.dumps(PickleBomb(marker)))
    resign_checksums(version_dir)


BANK_DAMAGE = {
    "truncated": _truncate,
    "bit_flipped": _flip_bit,
    "wrong_format_version": _wrong_format_version,
    "other_backbone": _other_backbone,
    "missing_manifest": _missing_manifest,
    "pickled_npz": _pickled_memory,
    "raw_pickle": _raw_pickle,
}
"""Damage done to a copy of a good bank version folder: name -> (version_dir, marker_path) -> None."""


def write_damaged_bank(banks_dir: Path, product: str, good_version: Path, damage: str, marker: Path) -> Path:
    """Copy ``good_version`` as the product's next version, then damage the copy."""
    latest = BankStore(banks_dir).latest(product)
    number = int(latest.name[1:]) + 1 if latest else 1
    staging = banks_dir / product / f".staging-{damage}"
    shutil.copytree(good_version, staging)
    BANK_DAMAGE[damage](staging, marker)
    target = banks_dir / product / f"v{number:04d}"
    staging.rename(target)
    return target


def bottle_bank_and_test_features(data_root: Path, settings: DetectorSettings) -> tuple[np.ndarray, np.ndarray]:
    """(memory of a bank of bottle's first 2 goldens, embedded features [B, h, w, D] of 3 test images of each
    defect kind and of the goods): real features for the search tests."""
    root = data_root / "mvtec_ad" / "bottle"
    goldens = [read_rgb(path) for path in image_files(root / "train" / "good")[:2]]
    tests = [read_rgb(path) for folder in sorted((root / "test").iterdir()) for path in image_files(folder)[:3]]
    bank = fit_bank(goldens, settings)
    detector = Detector(bank)
    return bank.memory, detector.embedded_features(detector.input_frames(tests), {})
