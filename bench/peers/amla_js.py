"""Times amla-sandbox (the peer) for the JavaScript benchmarks.

Prints one JSON object of sample lists in milliseconds; the Rust side takes
the medians. Usage: amla_js.py FRESH_ITERATIONS WARM_ITERATIONS
"""
import json
import sys
import time

from amla_sandbox import Sandbox


def millis(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def main() -> None:
    fresh_iterations, warm_iterations = int(sys.argv[1]), int(sys.argv[2])
    # The first sandbox loads and compiles amla's module; later ones reuse
    # wasmtime-py's in-process state, so this is amla at its fastest.
    Sandbox().execute("console.log('warm-up')")

    fresh = []
    for _ in range(fresh_iterations):
        start = time.perf_counter()
        out = Sandbox().execute("console.log('hello')")
        fresh.append(millis(start))
        assert "hello" in out, out

    sandbox = Sandbox()
    sandbox.execute("const warmUp = 1")
    warm = []
    for _ in range(warm_iterations):
        start = time.perf_counter()
        sandbox.execute("const x = 1 + 1")
        warm.append(millis(start))

    json.dump({"fresh_hello": fresh, "warm_expression": warm}, sys.stdout)


if __name__ == "__main__":
    main()
