"""stockade.connect against a real `stockade serve` on loopback: the same
run, session, files and streaming API as in-process, the same Result and
exception classes."""

import hashlib
import io
import os
import pathlib
import subprocess

import pytest

import stockade

TOKEN = "remote-test-token"


def _stockade_binary() -> pathlib.Path:
    root = pathlib.Path(__file__).resolve().parents[2]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    binary = target / "release" / "stockade"
    assert binary.exists(), f"no {binary}: scripts/test.sh builds it before pytest"
    return binary


@pytest.fixture
def server(tmp_path):
    (tmp_path / "policy.toml").write_text(
        'languages = ["python", "js", "sh"]\n[files]\ntmp_bytes = 16777216\n[limits]\nwall_ms = 10000\n'
    )
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    (tmp_path / "server.toml").write_text(
        f'listen = "127.0.0.1:0"\n[[tokens]]\nid = "remote"\nsha256 = "{digest}"\npolicy = "policy.toml"\n'
    )
    process = subprocess.Popen(
        [str(_stockade_binary()), "serve", "--config", str(tmp_path / "server.toml")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://"), line
        yield url
    finally:
        process.kill()
        process.wait()


def test_a_remote_run_is_a_result_like_an_in_process_one(server) -> None:
    client = stockade.connect(server, TOKEN)
    assert client.health()
    result = client.run("print('hi')\n6 * 7")
    local = stockade.Sandbox().run("print('hi')\n6 * 7")
    assert (result.status, result.stdout, result.value) == (local.status, local.stdout, local.value) == ("ok", "hi\n", 42)
    failed = client.run("undefined_name")
    assert failed.status == "guest_error" and failed.error.type == "NameError"
    with pytest.raises(stockade.CodeRefused):
        client.run("1", timeout=1, env={"NOT_LISTED": "x"})
    with pytest.raises(stockade.RemoteError) as refused:
        stockade.connect(server, "wrong-token").run("1")
    assert refused.value.status == 401


def test_a_remote_session_streams_and_moves_files_both_ways(server) -> None:
    client = stockade.connect(server, TOKEN)
    printed: list = []
    with client.session("python") as session:
        sent = session.files.write("data.csv", io.BytesIO(b"a,b\n1,2\n3,4\n"))
        assert sent["bytes"] == 12
        first = session.run("import pandas as pd\ndf = pd.read_csv('/tmp/data.csv')\nprint('rows', len(df))", on_stdout=printed.append)
        assert first.ok, first
        second = session.run(
            "df['c'] = df.a + df.b\ndf.to_csv('/tmp/out.csv', index=False)\nprint('done')", on_stdout=printed.append
        )
        assert second.ok, second
        assert "".join(printed) == "rows 2\ndone\n"
        assert session.files.read("out.csv") == b"a,b,c\n1,2,3\n3,4,7\n"
        sink = io.BytesIO()
        assert session.files.read("out.csv", into=sink)["bytes"] == 18 and sink.getvalue().startswith(b"a,b,c")
        assert {entry["path"].rsplit("/", 1)[-1] for entry in session.files.list()} >= {"data.csv", "out.csv"}
        session.files.remove("data.csv")
        with pytest.raises(FileNotFoundError):
            session.files.read("data.csv")
        chunks = session.stream("for i in range(3): print(i)")
        assert "".join(chunk.text for chunk in chunks) == "0\n1\n2\n" and chunks.result.ok
        assert any(listed["id"] == session.id for listed in client.sessions())
    # Closed: gone from the listing, and its runs are refused.
    assert all(listed["id"] != session.id for listed in client.sessions())
    with pytest.raises(stockade.StockadeError):
        session.run("1")


def test_a_remote_sessions_background_commands_work_as_in_process_ones(server) -> None:
    client = stockade.connect(server, TOKEN)
    with client.session("sh") as session:
        command = session.spawn("echo ready; read reply; echo \"got $reply\" >&2")
        assert isinstance(command, stockade.RemoteCommand) and command.id == "c1"
        seen: list = []

        def on_stdout(text: str) -> None:
            seen.append(text)
            if "ready" in "".join(seen):
                command.write("yes\n")

        done = command.follow(on_stdout=on_stdout, on_stderr=seen.append, timeout=30)
        assert (done.running, done.exit_code, "".join(seen)) == (False, 0, "ready\ngot yes\n")
        with pytest.raises(BrokenPipeError):
            command.write("late\n")
        counted = session.spawn("for i in 1 2; do echo $i; done")
        assert "".join(chunk.text for chunk in counted.stream(timeout=30)) == "1\n2\n"
        trapped = session.spawn("trap 'echo bye; exit 4' TERM; echo up; while :; do sleep 0.05; done")
        while "up" not in trapped.output().stdout:
            pass
        with pytest.raises(ValueError):
            trapped.signal("NOPE")
        trapped.signal("TERM")
        assert trapped.wait(30).exit_code == 4
        squares = session.spawn("while read n; do echo $((n * n)); done")
        squares.write("9\n")
        squares.close_stdin()
        assert squares.wait(30).stdout == "81\n"
        assert session.spawn("sleep 1000").kill().exit_code == 137
        assert [c.id for c in session.commands()] == ["c1", "c2", "c3", "c4", "c5"]


def _counting_server(close_after_each: bool):
    """A server on loopback whose ``/v1/health`` answers ``{}``, closing each
    connection after its answer (with no word) if ``close_after_each``; its
    url, and the list of connections it took."""
    import http.server
    import threading

    taken: list = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            taken.append(self.client_address)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            self.close_connection = close_after_each

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", taken


def test_the_client_keeps_its_connection_between_calls() -> None:
    server, url, taken = _counting_server(close_after_each=False)
    try:
        client = stockade.connect(url)
        assert all(client.health() for _ in range(3))
        assert len(taken) == 1, taken
    finally:
        server.shutdown()


def test_a_kept_connection_the_server_closed_is_replaced_unseen() -> None:
    import time

    server, url, taken = _counting_server(close_after_each=True)
    try:
        client = stockade.connect(url)
        assert client.health()
        time.sleep(0.05)  # the server's close arrives while the client is idle
        assert client.health()
        assert len(taken) == 2, taken
    finally:
        server.shutdown()
