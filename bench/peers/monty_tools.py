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
import time

from pydantic_monty import FunctionSnapshot, Monty, MontyComplete

from p4_loop import PY_LOCAL, PY_LOOP, sample


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
    # Host round trips are capped per checkout (1000 by default); lift the cap
    # so one session serves every sample.
    with Monty() as pool, pool.checkout(limits={"max_suspensions": 10**9}) as session:
        sample(lambda code: run(session, code), PY_LOOP.format(call="add"), PY_LOCAL)

if __name__ == "__main__":
    main()
