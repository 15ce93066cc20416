"""``AsyncSandbox`` and ``AsyncSession``: the same sandbox for asyncio code.

Each run goes to a worker thread (the native run releases the GIL), so
``await sandbox.run(...)`` never blocks the event loop, and many runs can
be in flight at once (up to the instance slots, then they wait). A tool
that is a coroutine function runs on the caller's own event loop, where
the application's clients and locks live.

A task awaiting a run that is cancelled stops waiting at once; the guest
itself runs on to its end or its wall time, as a run cannot be
interrupted from another thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from . import _tools
from ._commands import Command, CommandOutput
from ._result import Result
from ._sandbox import PolicyLike, Sandbox, Session

__all__ = ["AsyncCommand", "AsyncSandbox", "AsyncSession", "AsyncSessionFiles"]


async def _in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # The caller's loop, for the coroutine tools the run calls on its way.
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()

    def work() -> Any:
        _tools.caller_loop.loop = loop
        try:
            return context.run(function, *args, **kwargs)
        finally:
            _tools.caller_loop.loop = None

    return await loop.run_in_executor(None, work)


class AsyncSandbox:
    """:class:`Sandbox` for asyncio: the same arguments, awaitable runs."""

    def __init__(
        self,
        policy: PolicyLike = None,
        tools: Iterable[Callable[..., Any]] = (),
        *,
        constraints: Optional[Mapping[str, Mapping[str, Any]]] = None,
        max_calls: Union[int, Mapping[str, int], None] = None,
    ) -> None:
        self._sandbox = Sandbox(policy, tools, constraints=constraints, max_calls=max_calls)

    @property
    def languages(self) -> "tuple[str, ...]":
        """The languages this sandbox runs, by canonical name."""
        return self._sandbox.languages

    async def run(
        self,
        code: str,
        language: str = "python",
        *,
        timeout: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """:meth:`Sandbox.run`, awaited. ``on_stdout`` and ``on_stderr`` are
        called on the worker thread that runs the guest."""
        run = functools.partial(
            self._sandbox.run, timeout=timeout, env=env, on_stdout=on_stdout, on_stderr=on_stderr
        )
        return await _in_thread(run, code, language)

    async def session(self, language: str = "python") -> "AsyncSession":
        """Opens a session (its guest starts on a worker thread)."""
        return AsyncSession(await _in_thread(self._sandbox.session, language))

    def destroy(self) -> None:
        """Frees the sandbox; its sessions stay usable until closed."""
        self._sandbox.destroy()

    async def __aenter__(self) -> "AsyncSandbox":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.destroy()


class AsyncSession:
    """:class:`Session` for asyncio."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def run(
        self,
        code: str,
        *,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """:meth:`Session.run`, awaited; the session's runs take turns.
        ``on_stdout`` and ``on_stderr`` are called on the worker thread."""
        run = functools.partial(self._session.run, on_stdout=on_stdout, on_stderr=on_stderr)
        return await _in_thread(run, code)

    async def close(self) -> None:
        """Closes the session, stopping a run in progress."""
        await _in_thread(self._session.close)

    @property
    def id(self) -> str:
        """The session's id, as the audit log names it."""
        return self._session.id

    @property
    def language(self) -> str:
        """``"python"`` or ``"js"``."""
        return self._session.language

    @property
    def files(self) -> "AsyncSessionFiles":
        """The session's files, awaited (see :class:`SessionFiles`)."""
        return AsyncSessionFiles(self._session)

    async def spawn(self, command: str) -> "AsyncCommand":
        """:meth:`Session.spawn`, awaited."""
        return AsyncCommand(await _in_thread(self._session.spawn, command))

    async def commands(self) -> "List[AsyncCommand]":
        """:meth:`Session.commands`, awaited."""
        return [AsyncCommand(command) for command in await _in_thread(self._session.commands)]

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncSessionFiles:
    """:class:`SessionFiles`, each call on a worker thread."""

    def __init__(self, session: Session) -> None:
        self._files = session.files

    async def write(self, path: str, data: Any) -> Dict[str, Any]:
        """Writes ``data`` to ``path``; returns ``{path, bytes, blake3}``."""
        return await _in_thread(self._files.write, path, data)

    async def read(self, path: str, into: Any = None) -> Any:
        """The file's bytes, or streamed ``into`` a binary file object."""
        return await _in_thread(self._files.read, path, into)

    async def list(self, path: str = "") -> List[Dict[str, Any]]:
        """The folder's entries."""
        return await _in_thread(self._files.list, path)

    async def stat(self, path: str) -> Dict[str, Any]:
        """What is at ``path``."""
        return await _in_thread(self._files.stat, path)

    async def remove(self, path: str) -> None:
        """Removes the file or empty folder at ``path``."""
        await _in_thread(self._files.remove, path)


class AsyncCommand:
    """:class:`Command` for asyncio: each wait on a worker thread."""

    def __init__(self, command: Command) -> None:
        self._command = command

    @property
    def id(self) -> str:
        """Its id within its session (``c1``)."""
        return self._command.id

    @property
    def command(self) -> str:
        """The command line it was started with."""
        return self._command.command

    @property
    def running(self) -> bool:
        """Whether it is still running."""
        return self._command.running

    def output(self) -> CommandOutput:
        """What it has written so far (this never waits)."""
        return self._command.output()

    async def wait(self, timeout: Optional[float] = None) -> CommandOutput:
        """:meth:`Command.wait`, awaited."""
        return await _in_thread(self._command.wait, timeout)

    async def follow(
        self,
        *,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
        timeout: Optional[float] = None,
    ) -> CommandOutput:
        """:meth:`Command.follow`, awaited; the callbacks run on the worker thread."""
        follow = functools.partial(self._command.follow, on_stdout=on_stdout, on_stderr=on_stderr, timeout=timeout)
        return await _in_thread(follow)

    async def write(self, data: Union[bytes, str]) -> None:
        """:meth:`Command.write`, awaited (it may wait for the command to read)."""
        await _in_thread(self._command.write, data)

    def close_stdin(self) -> None:
        """Closes its stdin."""
        self._command.close_stdin()

    async def signal(self, signal: str = "TERM") -> None:
        """:meth:`Command.signal`, awaited."""
        await _in_thread(self._command.signal, signal)

    async def kill(self, timeout: float = 5.0) -> CommandOutput:
        """:meth:`Command.kill`, awaited."""
        return await _in_thread(self._command.kill, timeout)
