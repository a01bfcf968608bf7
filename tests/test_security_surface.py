"""Security surface: weights never unpickle arbitrary objects, /metrics binds to localhost by default,
and the systemd unit's hardening score (``systemd-analyze security``) stays in the 'OK' band."""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from inspectd.config import parse_config
from inspectd.detector.backbone import BackboneError, load_state_dict_checked
from support.banks import PickleBomb

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPOSURE_LIMIT = 3.0
"""systemd's scale: 0 (locked down) to 10 (exposed); up to 3.9 is rated 'OK'."""


def test_weights_file_holding_a_pickle_bomb_is_refused_without_running_it(tmp_path: Path) -> None:
    marker, weights = tmp_path / "unpickled-marker", tmp_path / "weights.pth"
    weights.write_bytes(pickle.dumps({"conv.weight": PickleBomb(marker)}, protocol=2))
    with pytest.raises(BackboneError, match="cannot read backbone weights"):
        load_state_dict_checked(weights, expected_sha256=None)
    assert not marker.exists(), "torch.load ran the pickle's payload"


def test_metrics_endpoint_binds_localhost_unless_configured(tmp_path: Path) -> None:
    minimal = {"products": {"bottle": {"banks_dir": str(tmp_path)}},
               "cameras": [{"name": "cam", "source": {"index": 0}, "product": "bottle"}]}
    assert parse_config(minimal).metrics.bind == "127.0.0.1"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_exposure_score_is_ok() -> None:
    analysed = subprocess.run(["systemd-analyze", "security", "--offline=true",
                               str(REPO_ROOT / "systemd" / "inspectd.service")],
                              capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for inspectd\.service: ([0-9.]+)", analysed.stdout)
    assert found, analysed.stdout[-2000:] + analysed.stderr
    print(f"systemd-analyze security: exposure {found.group(1)}")
    assert float(found.group(1)) <= EXPOSURE_LIMIT
