#!/usr/bin/env bash
# Installs the outside baseline of `hearth bench search` into its own Python
# environment: faiss (CPU build, `faiss-cpu` from PyPI) with the same numpy
# that scripts/install-embed-baseline.sh pins. Only packages are added; whatever
# else the environment holds is left alone.
# Versions are pinned so figures are comparable across runs. When the pinned
# versions already import, it does nothing (well under a second).
#
#     bash scripts/install-search-baseline.sh [VENV_DIR]
#
# VENV_DIR defaults to ~/.cache/hearth/search-baseline-venv (where the bench
# looks; the bench runs this script every time, a fraction of a second when
# everything is in place).
set -euo pipefail
venv="${1:-${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/search-baseline-venv}"
pins=(faiss-cpu==1.15.1 numpy==2.4.6 packaging==26.4)
check='import faiss, numpy, packaging
assert faiss.__version__ == "1.15.1", faiss.__version__
assert numpy.__version__ == "2.4.6", numpy.__version__
assert packaging.__version__ == "26.4", packaging.__version__
print("faiss", faiss.__version__, "numpy", numpy.__version__)'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    # A fresh environment is built beside the target and moved into place, so an
    # interrupted install never leaves a half-made one where the bench looks.
    rm -rf "$venv.partial"
    python3 -m venv "$venv.partial"
    "$venv.partial/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
    rm -rf "$venv"
    mv "$venv.partial" "$venv"
else
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
fi
"$venv/bin/python" -c "$check"
