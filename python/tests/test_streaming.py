"""Output reaches on_stdout / on_stderr (and the stream() iterator) while
the guest still runs. Each test proves it without timing: the guest asks
a host tool whether the host has already seen its line, or the callback
stops a guest that would otherwise spin until its wall time."""

import pytest

import stockade
from stockade import Chunk, Sandbox

SHORT_WALL = {"limits": {"wall_ms": 15_000}}


class Seen(Exception):
    """What a callback raises once it has seen the line."""


def test_a_session_uploads_a_csv_streams_progress_over_two_turns_and_gives_a_file_back() -> None:
    printed: list = []

    def seen(text: str) -> bool:
        """Whether the host has already been given this line."""
        return any(text in chunk for chunk in printed)

    policy = {"files": {"tmp_bytes": 1 << 20}}
    with Sandbox(policy, tools=[seen]) as sandbox, sandbox.session("python") as session:
        session.files.write("data.csv", "a,b\n1,2\n3,4\n")
        first = session.run(
            "import pandas as pd\ndf = pd.read_csv('/tmp/data.csv')\nprint('loaded', len(df), 'rows')",
            on_stdout=printed.append,
        )
        assert first.ok, first
        second = session.run(
            "print('progress: halfway')\n"
            "arrived = seen(text='progress: halfway')\n"
            "df['c'] = df.a + df.b\n"
            "df.to_csv('/tmp/out.csv', index=False)\n"
            "print('the host had it:', arrived)",
            on_stdout=printed.append,
        )
        assert second.ok, second
        assert "".join(printed) == "loaded 2 rows\nprogress: halfway\nthe host had it: True\n"
        assert second.stdout == "progress: halfway\nthe host had it: True\n"
        assert session.files.read("out.csv") == b"a,b,c\n1,2,3\n3,4,7\n"


@pytest.mark.parametrize(
    "language, code",
    [
        ("javascript", "console.log('first'); while (true) {}"),
        ("python", "print('first')\nwhile True: pass"),
        ("sh", "echo first; while :; do :; done"),
    ],
)
def test_a_callback_gets_the_line_while_the_guest_spins_and_its_exception_stops_the_run(
    language: str, code: str
) -> None:
    def stop_at_first(text: str) -> None:
        if "first" in text:
            raise Seen(text)

    with Sandbox(SHORT_WALL) as sandbox:
        with pytest.raises(Seen, match="first"):
            sandbox.run(code, language, on_stdout=stop_at_first)


def test_stderr_has_its_own_callback_and_utf8_split_across_writes_comes_whole() -> None:
    out: list = []
    err: list = []
    code = (
        "import sys\n"
        "sys.stdout.buffer.write('snow☃'.encode()[:5]); sys.stdout.flush()\n"
        "sys.stdout.buffer.write('snow☃'.encode()[5:] + b'\\n'); sys.stdout.flush()\n"
        "print('warn', file=sys.stderr)"
    )
    with Sandbox() as sandbox:
        result = sandbox.run(code, on_stdout=out.append, on_stderr=err.append)
    assert result.ok, result
    assert "".join(out) == "snow☃\n" and all("\ufffd" not in text for text in out)
    assert "".join(err) == "warn\n"


def test_stream_yields_chunks_then_the_result_and_a_cap_says_it_cut() -> None:
    with Sandbox({"limits": {"stdout_bytes": 12}}) as sandbox:
        chunks = sandbox.stream("for (let i = 0; i < 4; i++) console.log('line ' + i)", "javascript")
        got = list(chunks)
    assert all(isinstance(chunk, Chunk) for chunk in got)
    text = "".join(chunk.text for chunk in got if chunk.stream == "stdout")
    assert text == "line 0\nline [stockade: stdout passed its cap; the rest was dropped]\n"
    assert chunks.result.stdout_truncated
    assert chunks.result.stdout == "line 0\nline "


def test_an_async_run_streams_too() -> None:
    import asyncio

    async def main() -> list:
        printed: list = []
        async with stockade.AsyncSandbox() as sandbox:
            await sandbox.run("print(1); print(2)", on_stdout=printed.append)
        return printed

    assert "".join(asyncio.run(main())) == "1\n2\n"
