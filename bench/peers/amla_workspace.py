"""Times amla-sandbox's sandbox tool for the tools benchmark (P16, P4c):
a JavaScript run through `create_sandbox_tool`, which always keeps its
workspace, and its shell's `tool` command against an empty shell run.

Prints {"run": [...], "shell_tool": [...], "shell_empty": [...]} in
milliseconds per run. Usage: amla_workspace.py ITERATIONS
"""
import json
import sys
import time

from amla_sandbox import create_sandbox_tool


def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


def main() -> None:
    iterations = int(sys.argv[1])
    tool = create_sandbox_tool(tools=[add], max_calls=10 * iterations + 10)

    def timed(code: str, language: str, expect: str) -> float:
        start = time.perf_counter()
        out = tool.run(code, language=language)
        elapsed = (time.perf_counter() - start) * 1000.0
        assert expect in out, out
        return elapsed

    cases = {
        "run": ("return 1", "javascript", "1"),
        "shell_tool": ("tool add --a 1 --b 1", "shell", "2"),
        "shell_empty": ("echo 2", "shell", "2"),
    }
    for case in cases.values():
        timed(*case)
    samples = {name: [] for name in cases}
    # Interleaved, so a noisy moment falls on all three alike.
    for _ in range(iterations):
        for name, case in cases.items():
            samples[name].append(timed(*case))
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
