"""Times amla-sandbox's tool round trip (P4) for the tools benchmark.

The guest loops 1000 times over `await add({a, b})`, a host tool, and, for
the baseline, over the same loop with a guest-local async function instead.
Prints {"with_calls": [...], "without_calls": [...]} in milliseconds per
1000-iteration run. Usage: amla_tools.py ITERATIONS
"""
import time

from amla_sandbox import Sandbox, ToolDefinition
from p4_loop import sample

WITH_CALLS = """
let s = 0;
for (let i = 0; i < 1000; i++) s = await add({a: s, b: 1});
console.log(s);
"""
WITHOUT_CALLS = """
const local = async ({a, b}) => a + b;
let s = 0;
for (let i = 0; i < 1000; i++) s = await local({a: s, b: 1});
console.log(s);
"""


def main() -> None:
    add = ToolDefinition(
        name="add",
        description="Adds two numbers.",
        parameters={"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    )
    sandbox = Sandbox(tools=[add], tool_handler=lambda method, params: params["a"] + params["b"])

    def timed(code: str) -> float:
        start = time.perf_counter()
        out = sandbox.execute(code)
        elapsed = (time.perf_counter() - start) * 1000.0
        assert "1000" in out, out
        return elapsed

    sample(timed, WITH_CALLS, WITHOUT_CALLS)

if __name__ == "__main__":
    main()
