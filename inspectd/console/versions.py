"""A product's bank versions as the console lists them, and the rollback to one of them.

A rollback never deletes or renames a version: it writes the chosen version's bank again as the
product's next version (its manifest says ``restored_from``), so version numbers only grow, every
result's ``bank_version`` keeps naming what judged it, and the bank watcher swaps it in like any new one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from inspectd.detector import BankStore, load_bank
from inspectd.detector.bank import VERSION_NAME


def list_versions(store: BankStore, product: str) -> list[dict[str, Any]]:
    """Every version of ``product``, newest first, with what its manifest says about it."""
    return [_describe(version_dir) for version_dir in reversed(store.versions(product))]


def _describe(version_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((version_dir / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        return {"version": version_dir.name, "error": f"unreadable manifest: {error}"}
    counts = manifest.get("counts", {})
    return {
        "version": version_dir.name,
        "created": version_dir.stat().st_mtime,
        "threshold": manifest.get("threshold"),
        "golden_images": counts.get("images"),
        "feedback_frames": counts.get("feedback_frames", 0),
        "restored_from": manifest.get("restored_from"),
    }


def restore_version(store: BankStore, product: str, version: str) -> Path:
    """Write ``version`` of ``product`` again as its next version; returns the new version's folder.
    ValueError for a name that is not a version, FileNotFoundError for one that does not exist; a
    damaged version is refused by the load (BankError) before anything is written."""
    if not VERSION_NAME.match(version):
        raise ValueError(f"invalid bank version {version!r}: expected v followed by digits, e.g. v0001")
    source = store.product_dir(product) / version
    if not source.is_dir():
        raise FileNotFoundError(f"product {product!r} has no bank version {version}")
    bank = load_bank(source)
    return store.write(product, dataclasses.replace(bank, manifest={**bank.manifest, "restored_from": version}))
