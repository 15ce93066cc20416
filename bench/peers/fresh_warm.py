"""What the P2/P3 peer scripts share: a quiet stdout and the two sample lists.

A peer script hands `sample` a `fresh()` function (a new interpreter runs
`print('hello')`) and a `warm()` function (one kept interpreter runs
`x = 1 + 1`); it prints {"fresh_hello": [...], "warm_expression": [...]} in
milliseconds, ITERATIONS (argv[1]) of each, and nothing else: the guests'
own prints go to /dev/null.
"""
import json
import os
import sys
import time
from typing import Callable


def sample(fresh: Callable[[], object], warm: Callable[[], object]) -> None:
    iterations = int(sys.argv[1])
    samples_out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")

    def timed(run: Callable[[], object]) -> list[float]:
        run()
        samples = []
        for _ in range(iterations):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000.0)
        return samples

    json.dump({"fresh_hello": timed(fresh), "warm_expression": timed(warm)}, samples_out)
    samples_out.flush()
