"""Times pydantic-monty's tool round trip (P4) for the tools benchmark.

Written against pydantic-monty==1.4.0 (1.5.0 is listed on PyPI but its
pydantic-monty-client==1.5.0 is not, so it does not install).

Monty runs the guest in a `monty` worker subprocess. The guest loops 1000
times over `add(a=s, b=1)`, a name the host leaves undefined, so each call
pauses the feed as a FunctionSnapshot that the host answers with
`snapshot.resume({'return_value': ...})`. That manual loop is the fastest
documented way: `feed_run(..., external_lookup={'add': add})` does the same
but, without opentelemetry-api installed, retries `import opentelemetry` on
every call and costs about 4x more. The baseline is the same loop calling a
guest-local function. Prints {"with_calls": [...], "without_calls": [...]}
in milliseconds per 1000-iteration run. Usage: monty_tools.py ITERATIONS
"""
import json
import sys
import time

from pydantic_monty import FunctionSnapshot, Monty, MontyComplete

WITH_CALLS = """
s = 0
for i in range(1000):
    s = add(a=s, b=1)
s
"""
WITHOUT_CALLS = """
def local(a, b):
    return a + b

s = 0
for i in range(1000):
    s = local(a=s, b=1)
s
"""


def run(session, code: str) -> float:
    start = time.perf_counter()
    snapshot = session.feed_start(code)
    while isinstance(snapshot, FunctionSnapshot) and snapshot.function_name == "add":
        kwargs = snapshot.kwargs
        snapshot = snapshot.resume({"return_value": kwargs["a"] + kwargs["b"]})
    elapsed = (time.perf_counter() - start) * 1000.0
    assert isinstance(snapshot, MontyComplete) and snapshot.output == 1000, snapshot
    return elapsed


def main() -> None:
    iterations = int(sys.argv[1])
    # Host round trips are capped per checkout (1000 by default); lift the cap
    # so one session serves every sample.
    with Monty() as pool, pool.checkout(limits={"max_suspensions": 10**9}) as session:
        run(session, WITH_CALLS)
        run(session, WITHOUT_CALLS)
        with_calls = [run(session, WITH_CALLS) for _ in range(iterations)]
        without_calls = [run(session, WITHOUT_CALLS) for _ in range(iterations)]
    json.dump({"with_calls": with_calls, "without_calls": without_calls}, sys.stdout)


if __name__ == "__main__":
    main()
