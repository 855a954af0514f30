#!/usr/bin/env bash
# Install everything the suite needs, lint, and run the whole test suite (browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
MASKLOC_NO_ONNX= bash scripts/install.sh dev  # CI runs the ONNX tests: never skip the install
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's chromium (sudo apt-get install -y chromium)" >&2
  fi
fi
export NO_ALBUMENTATIONS_UPDATE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# loadgroup: tests marked xdist_group (one Dask cluster per module) stay on one worker
.venv/bin/pytest -n 2 --dist loadgroup "$@"
