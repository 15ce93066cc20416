"""Background commands of a shell session: started, fed, followed,
signalled and killed from Python, and killed when the session closes.
Mid-run behaviour is shown without timing: the host answers the command
only once it has seen what the command printed."""

import threading

import pytest

import stockade
from stockade import Command, CommandOutput, Sandbox

PATIENCE = 30.0
SHELL = {"languages": ["sh", "bash", "python"]}


def test_a_command_reads_its_stdin_and_is_followed_as_it_prints() -> None:
    with Sandbox(SHELL) as sandbox, sandbox.session("sh") as session:
        session.run("cd /tmp && export WHO=host")
        command = session.spawn('echo "ready in $(pwd) for $WHO"; read reply; echo "got $reply" >&2')
        assert isinstance(command, Command) and command.id == "c1" and command.running
        seen: list = []

        def on_stdout(text: str) -> None:
            seen.append(text)
            if "ready" in "".join(seen):
                command.write("yes\n")

        done = command.follow(on_stdout=on_stdout, on_stderr=seen.append, timeout=PATIENCE)
        assert isinstance(done, CommandOutput)
        assert (done.running, done.exit_code) == (False, 0)
        assert "".join(seen) == "ready in /tmp for host\ngot yes\n"
        assert done.stderr == "got yes\n"
        with pytest.raises(BrokenPipeError):
            command.write("late\n")
        assert [c.id for c in session.commands()] == ["c1"]


def test_a_command_streams_as_chunks_and_is_signalled_and_killed() -> None:
    with Sandbox(SHELL) as sandbox, sandbox.session("bash") as session:
        counter = session.spawn("for i in 1 2 3; do echo line $i; done")
        streamed = counter.stream(timeout=PATIENCE)
        text = "".join(chunk.text for chunk in streamed if chunk.stream == "stdout")
        assert text == "line 1\nline 2\nline 3\n"
        assert streamed.result.exit_code == 0

        trapped = session.spawn("trap 'echo bye; exit 9' TERM; echo up; while :; do sleep 0.05; done")
        while "up" not in trapped.output().stdout:
            assert trapped.wait(0.05).running
        trapped.signal("SIGTERM")
        ended = trapped.wait(PATIENCE)
        assert (ended.stdout, ended.exit_code) == ("up\nbye\n", 9)

        sleeper = session.spawn("sleep 1000")
        killed = sleeper.kill()
        assert (killed.running, killed.exit_code) == (False, 137)
        with pytest.raises(ValueError):
            sleeper.signal("NOPE")
        # The session's shell is free all along.
        assert session.run("echo still here").stdout == "still here\n"


def test_closing_the_session_kills_its_commands() -> None:
    with Sandbox(SHELL) as sandbox:
        session = sandbox.session("sh")
        server = session.spawn("echo serving; exec sleep 1000")
        while "serving" not in server.output().stdout:
            server.wait(0.05)
        session.close()
        after = server.output()
        assert (after.running, after.exit_code, after.stdout) == (False, None, "serving\n")
        with pytest.raises(stockade.SessionEnded):
            session.spawn("true")


def test_only_shell_sessions_have_background_commands() -> None:
    with Sandbox(SHELL) as sandbox, sandbox.session("python") as session:
        with pytest.raises(stockade.CodeRefused, match="shell"):
            session.spawn("echo hi")
    with Sandbox(SHELL) as sandbox, sandbox.session("sh") as session:
        with pytest.raises(stockade.CodeRefused):
            session.spawn("echo \0")
        with pytest.raises(TypeError):
            session.spawn(b"echo")  # type: ignore[arg-type]


def test_a_wait_on_another_thread_returns_when_the_command_ends() -> None:
    with Sandbox(SHELL) as sandbox, sandbox.session("sh") as session:
        command = session.spawn("read line; echo $line")
        result: list = []
        waiter = threading.Thread(target=lambda: result.append(command.wait(PATIENCE)))
        waiter.start()
        command.write("through\n")
        waiter.join(PATIENCE)
        assert result and result[0].stdout == "through\n" and not result[0].running


def test_the_readmes_example_runs_as_written() -> None:
    printed: list = []
    with Sandbox({"languages": ["sh"]}) as sandbox, sandbox.session("sh") as session:
        squares = session.spawn("while read n; do echo $((n * n)); done")
        squares.write("7\n"); squares.close_stdin()
        assert squares.wait(5).stdout == "49\n"
        slow = session.spawn("for i in 1 2 3; do echo step $i; sleep 1; done")
        session.run("echo the session goes on meanwhile")
        slow.follow(on_stdout=printed.append)
        killed = session.spawn("sleep 1000").kill()
    assert "".join(printed) == "step 1\nstep 2\nstep 3\n"
    assert killed.exit_code == 137


def test_async_commands_leave_the_event_loop_free() -> None:
    import asyncio

    async def main() -> None:
        async with stockade.AsyncSandbox(SHELL) as sandbox, await sandbox.session("sh") as session:
            command = await session.spawn("read line; echo got $line")
            assert isinstance(command, stockade.AsyncCommand)
            waiting = asyncio.ensure_future(command.wait(PATIENCE))
            # The loop runs this while the wait is in flight.
            await asyncio.sleep(0)
            assert not waiting.done()
            await command.write("it\n")
            done = await waiting
            assert (done.stdout, done.exit_code) == ("got it\n", 0)
            assert [c.id for c in await session.commands()] == ["c1"]
            assert (await (await session.spawn("sleep 1000")).kill()).exit_code == 137

    asyncio.run(main())
