"""A guest's first compile on a machine shows its progress, as the CLI's does."""

import os
import subprocess
import sys

PROGRAM = "import stockade; print(stockade.Sandbox().run('6 * 7', language='javascript').value)"


def run_in_fresh_process(cache):
    env = dict(os.environ, STOCKADE_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=600)


def test_a_first_compile_says_so_on_stderr_and_a_cached_one_says_nothing(tmp_path):
    # A cache of its own, so that this process compiles the JavaScript guest.
    first = run_in_fresh_process(tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "42"
    # stderr is a pipe here, not a terminal: a line at each end, no bar.
    assert "stockade: compiling the quickjs guest (once per machine):" in first.stderr, first.stderr
    assert "functions" in first.stderr and "stockade: compiled in" in first.stderr, first.stderr
    again = run_in_fresh_process(tmp_path / "cache")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "42"
    assert "compiling" not in again.stderr, again.stderr
