#!/usr/bin/env bash
# Runs every check and test stockade has. Works on a fresh Debian 12
# machine: it installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_build_deps
install_test_deps

echo "==> formatting"
cargo fmt --all --check
(cd guests/quickjs && cargo fmt --check)

echo "==> clippy (warnings are errors)"
cargo clippy --release --locked --workspace --all-targets -- -D warnings

echo "==> tests"
# A private cache per test run: the tests also cover the first compile.
export STOCKADE_CACHE_DIR="${STOCKADE_TEST_CACHE_DIR:-$(mktemp -d)/stockade-cache}"
# The process jail must have every layer here, Landlock included.
export STOCKADE_REQUIRE_LANDLOCK=1
cargo test --release --locked --workspace

echo "==> Python package (pytest, after the Rust tests have compiled the guests)"
install_python_package
.venv/bin/python -m pytest -q python/tests

echo "==> all checks passed"
