"""Times pydantic-monty (the peer) for the Python benchmarks.

Written against pydantic-monty==1.4.0. Monty runs its own subset interpreter
in worker subprocesses. `fresh` checks a session out of a warm pool and feeds
it `print('hello')` (a fresh interpreter per sample: the pool's workers are
already running, which is monty at its fastest); `warm` feeds `x = 1 + 1` to
one session again and again. Usage: monty_python.py ITERATIONS
"""
from pydantic_monty import Monty

from fresh_warm import sample


def main() -> None:
    with Monty(min_processes=2) as pool, pool.checkout() as kept:
        kept.feed_run("x = 0")

        def fresh() -> None:
            with pool.checkout() as session:
                session.feed_run("print('hello')")

        sample(fresh, lambda: kept.feed_run("x = 1 + 1"))


if __name__ == "__main__":
    main()
