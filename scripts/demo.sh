#!/usr/bin/env bash
# Set up .venv and run the daemon on the generated demo line (no camera, no broker needed).
# Extra arguments go to `inspectd demo` (e.g. --loop to keep playing the stream).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/inspectd demo "$@"
