#!/usr/bin/env bash
# Create .venv in the checkout and install inspectd with its test extras.
# Idempotent: a second run only re-checks the install. Used by .ci/run and scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch/torchvision are pinned in pyproject.toml; pip resolves them like any other dependency.
log=$(mktemp)
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' >"$log" 2>&1; then
    grep -v "^WARNING: Location 'file:" "$log" >&2 || true
    echo "bootstrap: pip install failed" >&2
    exit 1
fi
rm -f "$log"
.venv/bin/python -c "import inspectd, torch, faiss, cv2, paho.mqtt" \
    || { echo "bootstrap: the install is incomplete" >&2; exit 1; }
