"""Sessions, threads and Ctrl-C: state kept, the GIL released, guests stopped."""

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stockade import Sandbox, SessionEnded


def ctrl_c_after(seconds: float) -> threading.Timer:
    """Sends SIGINT to the main thread, as a terminal's Ctrl-C does, after `seconds`."""
    main = threading.main_thread().ident
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    return timer


def run_in_a_thread(session, code: str):
    """Starts `session.run(code)` on another thread; returns the thread and
    the list its result is appended to, once the run has had time to start."""
    results = []
    worker = threading.Thread(target=lambda: results.append(session.run(code)))
    worker.start()
    time.sleep(0.3)
    return worker, results


def test_a_session_keeps_state_and_closes_as_a_context_manager():
    sandbox = Sandbox()
    with sandbox.session("python") as session:
        session.run("import statistics\ndata = [1, 2, 3, 4]")
        assert session.run("statistics.mean(data)").value == 2.5
        assert session.language == "python" and len(session.id) > 0
        assert sandbox.run("'data' in globals()").value is False
    assert session.closed_because == "closed"
    with pytest.raises(SessionEnded, match="closed"):
        session.run("data")


def test_a_javascript_session():
    with Sandbox().session("javascript") as session:
        session.run("globalThis.count = 1")
        assert session.run("++count").value == 2


def test_a_session_ends_when_a_run_hits_its_wall_time():
    with Sandbox({"limits": {"wall_ms": 200}}).session("python") as session:
        assert session.run("while True: pass").limit == "wall"
        with pytest.raises(SessionEnded, match="limits.wall_ms"):
            session.run("1")


def test_parallel_runs_from_threads():
    sandbox = Sandbox()
    codes = [(f"sum(range({n}))", sum(range(n))) for n in range(1000, 1016)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda pair: sandbox.run(pair[0]).value, codes))
    assert results == [expected for _, expected in codes]


def test_the_gil_is_released_while_a_guest_runs(long_wall):
    # If the worker held the GIL inside its endless run, this thread could not
    # wake from its sleep to close the session, and the test would hang.
    session = Sandbox(long_wall).session("javascript")
    worker, results = run_in_a_thread(session, "while (true) {}")
    session.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert results[0].status == "cancelled" and results[0].exit_code == 130


def test_ctrl_c_stops_the_guest_and_raises_keyboard_interrupt(long_wall):
    sandbox = Sandbox(long_wall)
    for code, language in (("while True: pass", "python"), ("while (true) {}", "javascript")):
        timer = ctrl_c_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            sandbox.run(code, language)
        timer.join()
    assert sandbox.run("1 + 1").value == 2


def test_ctrl_c_during_a_tool_call_stops_the_run(long_wall):
    calls = []

    def wait(seconds: float) -> bool:
        calls.append(seconds)
        time.sleep(seconds)
        return True

    sandbox = Sandbox(long_wall, tools=[wait])
    timer = ctrl_c_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        # The guest would catch the tool's error and go on for ever.
        sandbox.run("while True:\n    try:\n        wait(5)\n    except Exception:\n        pass")
    timer.join()
    assert calls == [5]


def test_ctrl_c_in_a_session_ends_it(long_wall):
    session = Sandbox(long_wall).session("python")
    timer = ctrl_c_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        session.run("import time\ntime.sleep(60)")
    timer.join()
    with pytest.raises(SessionEnded, match="cancelled"):
        session.run("1")


def test_ctrl_c_while_waiting_for_a_busy_session_stops_only_the_wait(long_wall):
    session = Sandbox(long_wall).session("python")
    worker, results = run_in_a_thread(session, "while True: pass")
    timer = ctrl_c_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        session.run("1 + 1")  # waits for the worker's run, which never ends
    timer.join()
    assert worker.is_alive(), "the session's own run was stopped too"
    session.close()
    worker.join(timeout=30)
    assert not worker.is_alive() and results[0].status == "cancelled"
