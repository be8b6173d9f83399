# Conveniences over cargo; nothing here is required (see README).

# Index the bundled demo corpus and show search results.
demo:
    cargo run --release -- demo

# The whole test suite (what CI runs), with its dependencies installed first.
test:
    bash scripts/test.sh

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Install the default models (embedding + local generators).
models:
    cargo run --release -- models install

# Everything CI does, locally.
ci:
    bash .ci/run
