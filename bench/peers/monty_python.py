"""Times pydantic-monty (the peer) for the Python benchmarks.

Written against pydantic-monty==1.4.0. Monty runs its own subset interpreter
in worker subprocesses. `fresh_hello` checks a session out of a warm pool
and feeds it `print('hello')` (a fresh interpreter per sample: the pool's
workers are already running, which is monty at its fastest); `warm_expression`
feeds `x = 1 + 1` to one session again and again. Prints one JSON object of
sample lists in milliseconds. Usage: monty_python.py ITERATIONS
"""
import json
import os
import sys
import time

from pydantic_monty import Monty


def main() -> None:
    iterations = int(sys.argv[1])
    # The guests print; only the samples may reach stdout.
    samples_out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")
    with Monty(min_processes=2) as pool:
        with pool.checkout() as session:
            session.feed_run("print('warm-up')")
        fresh = []
        for _ in range(iterations):
            start = time.perf_counter()
            with pool.checkout() as session:
                session.feed_run("print('hello')")
            fresh.append((time.perf_counter() - start) * 1000.0)
        warm = []
        with pool.checkout() as session:
            session.feed_run("x = 0")
            for _ in range(iterations):
                start = time.perf_counter()
                session.feed_run("x = 1 + 1")
                warm.append((time.perf_counter() - start) * 1000.0)
    json.dump({"fresh_hello": fresh, "warm_expression": warm}, samples_out)
    samples_out.flush()


if __name__ == "__main__":
    main()
