"""What the P4 peer scripts share: the guest loops and the sampling.

Each `*_tools.py` script times one peer's tool round trip: a guest loop of
1000 calls to a host tool `add`, and the same loop calling a guest-local
function. It hands `sample` a `timed(code) -> milliseconds` function.
"""
import json
import sys
from typing import Callable

# The Python guests' loops; `call` is how the guest names the host tool.
PY_LOOP = """
s = 0
for i in range(1000):
    s = {call}(a=s, b=1)
s
"""
PY_LOCAL = """
def local(a, b):
    return a + b

s = 0
for i in range(1000):
    s = local(a=s, b=1)
s
"""


def sample(timed: Callable[[str], float], with_calls: str, without_calls: str) -> None:
    """Warms both loops up, times ITERATIONS (argv[1]) runs of each, and
    prints {"with_calls": [...], "without_calls": [...]} in milliseconds."""
    iterations = int(sys.argv[1])
    timed(with_calls)
    timed(without_calls)
    samples = {
        "with_calls": [timed(with_calls) for _ in range(iterations)],
        "without_calls": [timed(without_calls) for _ in range(iterations)],
    }
    json.dump(samples, sys.stdout)
