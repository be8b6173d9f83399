#!/usr/bin/env bash
# Creates the Python environment for the outside baseline of `hearth bench embed`:
# ONNX Runtime (CPU) from PyPI, the `onnx` package to build the graph from the
# same model.safetensors Hearth loads, `tokenizers` for the same tokenizer.json,
# and numpy. Versions are pinned so figures are comparable across runs.
#
#     bash scripts/install-embed-baseline.sh [VENV_DIR]
#
# VENV_DIR defaults to ~/.cache/hearth/baseline-venv (where the bench looks).
set -euo pipefail
venv="${1:-${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/baseline-venv}"
python3 -m venv "$venv.partial"
"$venv.partial/bin/pip" install --quiet --disable-pip-version-check \
    onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 tokenizers==0.23.3
rm -rf "$venv"
mv "$venv.partial" "$venv"
"$venv/bin/python" -c 'import onnxruntime, onnx; print("onnxruntime", onnxruntime.__version__, "onnx", onnx.__version__)'
