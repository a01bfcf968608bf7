"""The bank on disk: versioned, atomically written, self-describing, checked on load.

<banks>/<product>/v0007/ holds ``memory.npz`` (arrays, loaded with allow_pickle=False),
``manifest.json`` and ``SHA256SUMS`` (sha256 of both). Nothing is unpickled.
Format 2 adds, beside the memory, the hold-out group of each memory row and the features each hold-out
group scores, so that feedback can recalibrate without the golden images (docs/calibration.md).
Format 1 banks (memory only) still load and score; feedback refuses them until they are refitted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inspectd.detector.settings import DetectorSettings

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MEMORY_FILE = "memory.npz"
MANIFEST_FILE = "manifest.json"
CHECKSUM_FILE = "SHA256SUMS"
PRODUCT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VERSION_NAME = re.compile(r"^v(\d{4,})$")


class BankError(Exception):
    """A bank cannot be written or loaded; the message says why."""


@dataclass
class Bank:
    memory: np.ndarray  # [M, D] float32 coreset of (embedded) patch features
    manifest: dict
    version: str = field(default="")
    row_groups: np.ndarray | None = None  # [M] int32 hold-out group of each row (None: format 1)
    holdout_features: np.ndarray | None = None  # [G, h, w, D] float32 what each group scores (None: format 1)
    # [K, C, h, w, D] float16: each registered golden and its brightness-gain copies, what the structural check
    # compares each place with (detector/layout.py); None where the bank has no structural check
    layout_features: np.ndarray | None = None

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])

    @property
    def settings(self) -> DetectorSettings:
        return fitted_settings(self.manifest)


def fitted_settings(manifest: dict) -> DetectorSettings:
    """The settings a bank was fitted with. Banks written before ``feature_norm_power`` existed hold raw patch
    vectors (power 0), not the current default's."""
    return DetectorSettings.from_dict({"feature_norm_power": 0.0, **manifest["settings"]})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def validate_product(product: str) -> str:
    if not isinstance(product, str) or not PRODUCT_NAME.match(product) or product in (".", ".."):
        raise BankError(f"invalid product name {product!r}: expected {PRODUCT_NAME.pattern}")
    return product


class BankStore:
    """Versioned banks of every product under one directory."""

    def __init__(self, banks_dir: Path) -> None:
        self.banks_dir = Path(banks_dir)

    def product_dir(self, product: str) -> Path:
        return self.banks_dir / validate_product(product)

    def versions(self, product: str) -> list[Path]:
        directory = self.product_dir(product)
        if not directory.is_dir():
            return []
        found = [p for p in directory.iterdir() if p.is_dir() and VERSION_NAME.match(p.name)]
        return sorted(found, key=lambda p: int(p.name[1:]))

    def latest(self, product: str) -> Path | None:
        versions = self.versions(product)
        return versions[-1] if versions else None

    def write(self, product: str, bank: Bank) -> Path:
        """Write ``bank`` as the product's next version; returns its directory. A bank whose manifest
        declares format 2 must carry the hold-out arrays: written without them it could not be loaded."""
        if bank.manifest.get("format_version", 1) >= 2 and (bank.row_groups is None or bank.holdout_features is None):
            raise BankError(f"bank for {product!r} declares format {bank.manifest['format_version']} but has no "
                            "hold-out arrays (row_groups, holdout_features); fit it with fit_bank")
        directory = self.product_dir(product)
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
        try:
            _write_files(staging, bank)
            while True:
                latest = self.latest(product)
                number = int(latest.name[1:]) + 1 if latest else 1
                target = directory / f"v{number:04d}"
                try:
                    os.rename(staging, target)  # atomic; fails if a concurrent writer took the name
                    break
                except OSError:
                    if not target.exists():
                        raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        bank.version = target.name
        return target


def _write_files(directory: Path, bank: Bank) -> None:
    arrays = {"memory": np.ascontiguousarray(bank.memory, dtype=np.float32)}
    if bank.holdout_features is not None:
        arrays["row_groups"] = np.ascontiguousarray(bank.row_groups, dtype=np.int32)
        arrays["holdout_features"] = np.ascontiguousarray(bank.holdout_features, dtype=np.float32)
    if bank.layout_features is not None:
        arrays["layout_features"] = np.ascontiguousarray(bank.layout_features, dtype=np.float16)
    with open(directory / MEMORY_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    (directory / MANIFEST_FILE).write_text(json.dumps(bank.manifest, indent=2, sort_keys=True))
    sums = "".join(f"{_sha256(directory / name)}  {name}\n" for name in (MEMORY_FILE, MANIFEST_FILE))
    (directory / CHECKSUM_FILE).write_text(sums)
    for name in (MEMORY_FILE, MANIFEST_FILE, CHECKSUM_FILE):
        with open(directory / name, "rb") as handle:
            os.fsync(handle.fileno())


def load_bank(version_dir: Path) -> Bank:
    """Load and verify a bank; raises BankError naming the problem."""
    version_dir = Path(version_dir)
    if not (version_dir / MANIFEST_FILE).is_file():
        raise BankError(f"{version_dir}: missing manifest ({MANIFEST_FILE})")
    _verify_checksums(version_dir)
    try:
        manifest = json.loads((version_dir / MANIFEST_FILE).read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BankError(f"{version_dir}: manifest is not valid JSON: {exc}") from exc
    if manifest.get("format_version") not in READABLE_FORMATS:
        raise BankError(f"{version_dir}: bank format version {manifest.get('format_version')!r} is not "
                        f"supported (this inspectd reads versions {READABLE_FORMATS})")
    arrays = _read_arrays(version_dir / MEMORY_FILE, manifest["format_version"])
    _check_shapes(version_dir, arrays, manifest)
    _check_backbone(version_dir, manifest)
    return Bank(memory=arrays["memory"], manifest=manifest, version=version_dir.name,
                row_groups=arrays.get("row_groups"), holdout_features=arrays.get("holdout_features"),
                layout_features=arrays.get("layout_features"))


def _verify_checksums(version_dir: Path) -> None:
    sums_path = version_dir / CHECKSUM_FILE
    if not sums_path.is_file():
        raise BankError(f"{version_dir}: missing checksum file ({CHECKSUM_FILE})")
    expected = {}
    for line in sums_path.read_text().splitlines():
        digest, _, name = line.partition("  ")
        expected[name] = digest
    for name in (MEMORY_FILE, MANIFEST_FILE):
        path = version_dir / name
        if name not in expected:
            raise BankError(f"{version_dir}: {CHECKSUM_FILE} lists no checksum for {name}")
        if not path.is_file():
            raise BankError(f"{version_dir}: missing {name}")
        if _sha256(path) != expected[name]:
            raise BankError(f"{version_dir}: checksum mismatch for {name} (truncated or altered file)")


ARRAYS = {  # name -> (dtype, ndim, first format that has it)
    "memory": (np.float32, 2, 1), "row_groups": (np.int32, 1, 2), "holdout_features": (np.float32, 4, 2)}
# arrays a bank holds only where its manifest asks for them: name -> (dtype, ndim, manifest key)
OPTIONAL_ARRAYS = {"layout_features": (np.float16, 5, "structure")}


def _read_arrays(path: Path, format_version: int) -> dict[str, np.ndarray]:
    names = [name for name, (_, _, since) in ARRAYS.items() if format_version >= since]
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in names + [n for n in OPTIONAL_ARRAYS if n in stored.files]}
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise BankError(f"{path}: not a valid bank array file (npz without pickles, arrays {names}): {exc}") from exc
    for name, array in arrays.items():
        dtype, ndim, _ = ARRAYS.get(name) or OPTIONAL_ARRAYS[name]
        if array.dtype != dtype or array.ndim != ndim:
            raise BankError(f"{path}: {name} must be a {ndim}-D {np.dtype(dtype)} array, got {array.dtype} "
                            f"{array.shape}")
    return arrays


def _check_shapes(version_dir: Path, arrays: dict[str, np.ndarray], manifest: dict) -> None:
    memory, holdout = arrays["memory"], arrays.get("holdout_features")
    problems = []
    if list(memory.shape) != manifest.get("memory_shape"):
        problems.append(f"memory shape {list(memory.shape)} differs from the manifest's {manifest.get('memory_shape')}")
    if holdout is not None:
        if list(holdout.shape) != manifest.get("holdout_shape") or holdout.shape[-1] != memory.shape[1]:
            problems.append(f"hold-out features shape {list(holdout.shape)} differs from the manifest's "
                            f"{manifest.get('holdout_shape')} or the memory's width {memory.shape[1]}")
        if arrays["row_groups"].shape != (len(memory),):
            problems.append(f"row_groups has {arrays['row_groups'].shape} entries for {len(memory)} memory rows")
    for name, (_, _, key) in OPTIONAL_ARRAYS.items():
        if manifest.get(key) is not None and name not in arrays:
            problems.append(f"the manifest's {key!r} needs the array {name!r}, which the bank lacks")
        elif name in arrays and (holdout is None or arrays[name].shape[2:] != holdout.shape[1:]):
            problems.append(f"{name} shape {list(arrays[name].shape)} does not match the hold-out features' "
                            f"{None if holdout is None else list(holdout.shape)}")
    if problems:
        raise BankError(f"{version_dir}: " + "; ".join(problems))


def _check_backbone(version_dir: Path, manifest: dict) -> None:
    from inspectd.detector.backbone import BackboneError, get_backbone

    wanted = manifest.get("backbone", {})
    settings = fitted_settings(manifest)
    try:
        backbone = get_backbone(wanted.get("name", ""), settings.weights_path)
    except BackboneError as exc:
        raise BankError(f"{version_dir}: bank needs backbone {wanted.get('name')!r}: {exc}") from exc
    if backbone.weights_sha256 != wanted.get("weights_sha256"):
        raise BankError(f"{version_dir}: backbone mismatch: bank was fitted with {wanted.get('name')} weights "
                        f"sha256 {wanted.get('weights_sha256')}, installed weights have {backbone.weights_sha256}")
