"""Times stockade's Python package (installed in the repository's .venv):
`Sandbox.run` of a fresh JavaScript and Python guest, and `Session.run` in
a warm Python session. Prints the samples in milliseconds as JSON.

argv: ITERATIONS.
"""
import json
import sys
import time

from stockade import Sandbox


def timed(run, iterations):
    for _ in range(max(3, iterations // 10)):
        run()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


def main() -> None:
    iterations = int(sys.argv[1])
    sandbox = Sandbox()
    session = sandbox.session("python")
    print(json.dumps({
        "fresh_js": timed(lambda: sandbox.run("1", "javascript"), iterations),
        "fresh_python": timed(lambda: sandbox.run("1", "python"), iterations),
        "session_python": timed(lambda: session.run("x = 1 + 1"), iterations),
    }))


main()
