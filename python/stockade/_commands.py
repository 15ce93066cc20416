"""A shell session's background commands: :meth:`Session.spawn` starts one,
and it runs on between the session's runs until it ends, is killed, or the
session closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

from . import _native
from ._stream import Streamed, run_streamed

__all__ = ["Command", "CommandOutput"]


@dataclass(frozen=True)
class CommandOutput:
    """What a background command has written so far, and whether it has ended."""

    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    #: Whether it is still running.
    running: bool
    #: Its exit status once ended (``128 + n`` for signal ``n``); ``None``
    #: while it runs, or when its session closed under it.
    exit_code: Optional[int]

    @classmethod
    def _of(cls, raw: Mapping[str, Any]) -> "CommandOutput":
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__})


class Command:
    """A command running in the background of a shell session, as
    ``sh -c COMMAND`` started by the session's shell (it sees the shell's
    working directory and exported variables).

    Its output is kept up to the policy's caps, like a run's; the session's
    budgets bound it, and the session's close kills it."""

    def __init__(self, native: "_native.NativeCommand") -> None:
        self._native = native

    @property
    def id(self) -> str:
        """Its id within its session (``c1``)."""
        return self._native.id

    @property
    def command(self) -> str:
        """The command line it was started with."""
        return self._native.command

    @property
    def running(self) -> bool:
        """Whether it is still running."""
        return self._native.running

    def output(self) -> CommandOutput:
        """What it has written so far."""
        return CommandOutput._of(self._native.output())

    def wait(self, timeout: Optional[float] = None) -> CommandOutput:
        """Waits until it ends, ``timeout`` seconds at most; then what it
        wrote (``running`` says whether it ended)."""
        return CommandOutput._of(self._native.wait(timeout))

    def follow(
        self,
        *,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
        timeout: Optional[float] = None,
    ) -> CommandOutput:
        """Calls ``on_stdout(text)`` and ``on_stderr(text)`` with its output
        from the start, then as it comes, until it ends or ``timeout``
        seconds pass; then what it wrote."""

        def follow(on_output: Any) -> Any:
            return self._native.follow(on_output if on_output is not None else _ignore, timeout)

        return CommandOutput._of(run_streamed(follow, on_stdout, on_stderr))

    def stream(self, timeout: Optional[float] = None) -> Streamed:
        """:meth:`follow` as an iterator of :class:`~stockade.Chunk` objects;
        once it is exhausted, ``.result`` is the :class:`CommandOutput`."""
        return Streamed(lambda **callbacks: self.follow(timeout=timeout, **callbacks))

    def write(self, data: Union[bytes, str]) -> None:
        """Writes ``data`` to its stdin (``BrokenPipeError`` once closed)."""
        self._native.write_stdin(data.encode() if isinstance(data, str) else bytes(data))

    def close_stdin(self) -> None:
        """Closes its stdin: it reads end-of-file."""
        self._native.close_stdin()

    def signal(self, signal: str = "TERM") -> None:
        """Sends it ``signal`` (``"TERM"``, ``"INT"``, ``"SIGKILL"``...), and
        every process it started."""
        self._native.signal(signal)

    def kill(self, timeout: float = 5.0) -> CommandOutput:
        """Kills it and every process it started; then what it wrote."""
        return CommandOutput._of(self._native.kill(timeout))

    def __repr__(self) -> str:
        state = "running" if self.running else "ended"
        return f"<Command {self.id} {state}: {self.command!r}>"


def _ignore(stream: str, data: bytes) -> None:
    """A follower that wants nothing of the output, only the end."""
