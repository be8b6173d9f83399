#!/usr/bin/env bash
# Builds the outside baseline of `hearth bench generate`: llama.cpp's
# `llama-bench`, CPU only, from the llama.cpp sources vendored in the pinned
# llama-cpp-python sdist on PyPI (no registry here ships llama.cpp prebuilt).
#
#     bash scripts/install-generate-baseline.sh [DIR]
#
# DIR defaults to ${HEARTH_CACHE_DIR:-~/.cache/hearth}/llama.cpp (where the bench
# looks). The sdist is fetched with `pip download --no-deps` and checked against
# its sha256; cmake comes from PyPI (a venv under DIR) when there is none on the
# PATH. Only the `llama-bench` target is built: Release, native CPU code, no
# CUDA/Metal/BLAS, `nice` and two jobs, so it does not starve other builds.
# Idempotent: when the pinned build is in place it only prints its path. The
# last line of output is always the path of llama-bench.
set -euo pipefail
version=0.3.36
sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
cmake_pin=cmake==4.4.5
dir="${1:-${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/llama.cpp}"
build="$dir/build-$version"
bin="$build/bin/llama-bench"
stamp="$build/.hearth-complete"
if [ -x "$bin" ] && [ -f "$stamp" ]; then
    echo "$bin"
    exit 0
fi
mkdir -p "$dir"

sha_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# 1. The sdist, verified.
sdist="$dir/llama_cpp_python-$version.tar.gz"
if [ ! -f "$sdist" ] || [ "$(sha_of "$sdist")" != "$sha256" ]; then
    rm -rf "$dir/download"
    echo "downloading llama-cpp-python $version (sdist, ~75 MB) from PyPI…" >&2
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --no-binary llama-cpp-python --dest "$dir/download" "llama-cpp-python==$version" >&2
    mv "$dir/download/llama_cpp_python-$version.tar.gz" "$sdist"
    rm -rf "$dir/download"
fi
actual="$(sha_of "$sdist")"
if [ "$actual" != "$sha256" ]; then
    echo "sha256 mismatch for $sdist: expected $sha256, got $actual" >&2
    rm -f "$sdist"
    exit 1
fi

# 2. Its sources, unpacked beside the target and moved into place.
src="$dir/src-$version"
if [ ! -f "$src/vendor/llama.cpp/CMakeLists.txt" ]; then
    rm -rf "$src" "$src.partial"
    mkdir -p "$src.partial"
    tar -xzf "$sdist" -C "$src.partial" --strip-components=1
    mv "$src.partial" "$src"
fi

# 3. cmake: the one on the PATH, else a pinned one from PyPI.
cmake_bin="$(command -v cmake || true)"
if [ -z "$cmake_bin" ]; then
    venv="$dir/cmake-venv"
    if [ ! -x "$venv/bin/cmake" ]; then
        echo "installing $cmake_pin from PyPI into $venv…" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$cmake_pin" >&2
    fi
    cmake_bin="$venv/bin/cmake"
fi

# 4. llama-bench only, CPU only.
echo "building llama-bench (llama.cpp from llama-cpp-python $version) in $build…" >&2
nice -n 19 "$cmake_bin" -S "$src/vendor/llama.cpp" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF \
    -DGGML_VULKAN=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON >&2
nice -n 19 "$cmake_bin" --build "$build" --config Release --target llama-bench -j2 >&2
"$bin" --help >/dev/null
touch "$stamp"
echo "$bin"
