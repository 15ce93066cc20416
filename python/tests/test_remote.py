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
    (tmp_path / "policy.toml").write_text("[files]\ntmp_bytes = 16777216\n[limits]\nwall_ms = 10000\n")
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
