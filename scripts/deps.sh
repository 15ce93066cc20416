#!/usr/bin/env bash
# Installs what building stockade needs and is missing on a Debian 12 machine:
# Debian's clang 19 toolchain for wasm32 and wasi-libc (to compile QuickJS),
# and the wasm32-wasip1 Rust target. Safe to run again: it only installs
# what is absent. Sourced by setup.sh and test.sh.
set -euo pipefail

# gcc and libc6-dev link Rust and build the jail's static `tool` client.
APT_PACKAGES=(gcc libc6-dev clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "error: '$*' needs root and sudo is missing" >&2; return 1
    fi
}

install_apt_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
}

install_build_deps() {
    if ! command -v cargo >/dev/null; then
        echo "error: cargo is missing; install Rust with rustup (https://rustup.rs), then run this again" >&2
        exit 1
    fi
    install_apt_packages "${APT_PACKAGES[@]}"
    if ! rustup target list --installed | grep -qx wasm32-wasip1; then
        echo "==> adding the wasm32-wasip1 Rust target"
        rustup target add wasm32-wasip1
    fi
}

# The Python packages the tests drive stockade with: the official MCP client,
# the Python package's build tool and test runner, and the agent frameworks its
# adapters are tested against, and schemathesis for the HTTP API. All go into
# the virtualenv .venv in the repository.
# amla-sandbox is the peer the sandbox tool is compared with, side by side.
TEST_PYTHON_PACKAGES=(mcp==2.3.0 maturin==1.16.0 pytest==9.2.0 langchain-core==1.8.3 smolagents==1.26.0 schemathesis==4.32.5
    amla-sandbox==0.2.8)

make_venv() {
    install_apt_packages python3-venv
    if [ ! -x .venv/bin/python ]; then
        echo "==> making the virtualenv .venv"
        python3 -m venv .venv
    fi
}

install_test_deps() {
    make_venv
    # What the network tests run inside the jail: curl, pip and requests
    # for the system Python (the jail's python-native), and git.
    install_apt_packages curl python3-requests python3-pip
    command -v git >/dev/null || install_apt_packages git
    # node, which the JavaScript guest's globals are compared with.
    command -v node >/dev/null || install_apt_packages nodejs
    # jq, which the sandbox tool's shell examples pipe tool results into.
    command -v jq >/dev/null || install_apt_packages jq
    if ! .venv/bin/python -c "import mcp, maturin, pytest, langchain_core, smolagents, schemathesis, amla_sandbox" 2>/dev/null; then
        echo "==> installing into .venv: ${TEST_PYTHON_PACKAGES[*]}"
        .venv/bin/pip install -q "${TEST_PYTHON_PACKAGES[@]}"
    fi
}

# Builds the Python package (python/, PyO3 + maturin) and installs it into
# .venv, replacing any earlier build.
install_python_package() {
    make_venv
    if ! .venv/bin/python -c "import maturin" 2>/dev/null; then
        .venv/bin/pip install -q maturin==1.16.0
    fi
    echo "==> building the Python package into .venv"
    # maturin, run by pip without build isolation, is found on PATH.
    PATH="$PWD/.venv/bin:$PATH" .venv/bin/pip install -q --no-build-isolation --force-reinstall --no-deps ./python
}
