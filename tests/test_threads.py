"""inspectd's thread policy (inspectd/threads.py): thread counts and the OpenMP wait policy, set in a fresh
process the way the CLI sets them, before torch and faiss load."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from inspectd.cli import app

PROBE = ("import json, os; from inspectd.threads import cooperate; count = cooperate(); import cv2, faiss, torch; "
         "print(json.dumps({'count': count, 'torch': torch.get_num_threads(), 'faiss': faiss.omp_get_max_threads(), "
         "'cv2': cv2.getNumThreads(), 'wait': os.environ.get('OMP_WAIT_POLICY'), "
         "'openblas': os.environ.get('OPENBLAS_NUM_THREADS')}))")


def probe(**variables: str) -> dict:
    """What ``cooperate`` sets in a fresh process whose environment has none of the thread variables but these."""
    import json

    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("OMP_", "KMP_", "OPENBLAS_", "MKL_", "INSPECTD_THREADS"))}
    output = subprocess.run([sys.executable, "-c", PROBE], env={**environment, **variables}, check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output)


def test_default_is_half_the_cpus_with_passive_waiting() -> None:
    expected = max(1, len(os.sched_getaffinity(0)) // 2)
    assert probe() == {"count": expected, "torch": expected, "faiss": expected, "cv2": expected,
                       "wait": "PASSIVE", "openblas": str(expected)}


def test_the_users_settings_win() -> None:
    assert probe(INSPECTD_THREADS="3", OMP_WAIT_POLICY="ACTIVE") == {
        "count": 3, "torch": 3, "faiss": 3, "cv2": 3, "wait": "ACTIVE", "openblas": "3"}
    assert probe(OMP_NUM_THREADS="2")["torch"] == 2


def test_a_bad_thread_count_is_named(monkeypatch) -> None:
    monkeypatch.setenv("INSPECTD_THREADS", "two")
    result = CliRunner().invoke(app, ["refit", "--product", "p", "--golden", "/nonexistent"])
    assert result.exit_code == 2
    assert "INSPECTD_THREADS must be a whole number >= 1, got 'two'" in result.output
