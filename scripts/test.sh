#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need once
# (scripts/setup-test-deps.sh), then every test of the workspace — with
# cargo-nextest's `ci` profile (every group, slow-test timeouts) when it is
# installed, else with plain `cargo test`. Extra arguments go to the runner.
#
# The fast inner loop is `cargo nextest run` (its `default` profile leaves
# out the heavy groups: real generators, Chromium, moto, kill -9).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-deps.sh

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --profile ci "$@"
    # nextest does not run doctests.
    cargo test --workspace --doc
else
    cargo test --workspace "$@"
fi
