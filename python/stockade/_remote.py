"""A client for a remote ``stockade serve``: the untrusted code runs on
another machine, never on the agent's.

``stockade.connect(url, token)`` gives the same ``run``, ``session``,
files and streaming API as :class:`Sandbox`, with the same :class:`Result`
and the same exception classes (mapped from the server's error class), over
the HTTP API (``docs/deploy.md``). Streamed output uses the API's
``application/x-ndjson`` answers; uploads and downloads stream from and to
file objects without holding a file whole.
"""

from __future__ import annotations

import http.client
import json
import select
import threading
import time
import urllib.parse
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Mapping, Optional, Union

from . import _native
from ._commands import CommandOutput
from ._result import Result
from ._stream import Decoded, Streamed

_CHUNK = 1 << 16
# How long a connection is kept unused: well under the server's header
# timeout, after which it closes one.
_KEEP_IDLE = 2.0

#: The server's error classes, as the in-process exceptions.
_ERRORS = {
    "busy": _native.Busy,
    "invalid_request": _native.CodeRefused,
    "policy": _native.PolicyError,
    "ended": _native.SessionEnded,
    "unavailable": _native.GuestUnavailable,
    "internal": _native.EngineError,
}


class RemoteError(_native.StockadeError):
    """The server refused the request (its status and message), where no
    finer class applies: a bad token (401), a rate or concurrency limit
    (429, with ``retry_after``), no such session (404)."""

    def __init__(self, status: int, message: str, retry_after: Optional[int] = None) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.retry_after = retry_after


def _raise_for(status: int, body: bytes, retry_after: Optional[str]) -> None:
    try:
        error = json.loads(body)
    except ValueError:
        error = {"error": body.decode("utf-8", "replace")}
    message = str(error.get("error", "")) or f"HTTP {status}"
    if status == 404 and "file" in message:
        raise FileNotFoundError(message)
    exception = _ERRORS.get(error.get("class") or "")
    if exception is not None:
        raise exception(message)
    raise RemoteError(status, message, int(retry_after) if retry_after and retry_after.isdigit() else None)


class Client:
    """A connection to ``stockade serve`` at ``url`` with a bearer ``token``."""

    def __init__(self, url: str, token: Optional[str] = None, *, timeout: float = 300.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url must be http(s)://host[:port], not {url!r}")
        self._scheme, self._host, self._port = parsed.scheme, parsed.hostname, parsed.port
        self._base = parsed.path.rstrip("/")
        self._token = token
        self._timeout = timeout
        # Each thread keeps the connection its last answer came on.
        self._kept = threading.local()

    # --- HTTP ---------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's kept connection, if the server has not closed it
        meanwhile (a close that came is readable), else a new one. A request
        is sent once: one that a closed connection failed is not sent again,
        since a run must not run twice."""
        kept = getattr(self._kept, "connection", None)
        self._kept.connection = None
        if kept is not None:
            connection, since = kept
            sock = connection.sock
            if sock is not None and time.monotonic() - since < _KEEP_IDLE and not select.select([sock], [], [], 0)[0]:
                return connection
            connection.close()
        kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)

    def _release(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        """Keeps ``connection`` for this thread's next request if ``response``
        was read to its end and the server keeps it open; else closes it."""
        if response.isclosed() and not response.will_close and connection.sock is not None:
            self._kept.connection = (connection, time.monotonic())
        else:
            connection.close()

    def _send(
        self,
        method: str,
        path: str,
        body: Union[bytes, BinaryIO, None] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> "tuple[http.client.HTTPConnection, http.client.HTTPResponse]":
        connection = self._connection()
        sent = dict(headers or {})
        if self._token:
            sent["Authorization"] = f"Bearer {self._token}"
        if body is not None and not isinstance(body, (bytes, bytearray)):
            # A file object streams in chunks.
            sent["Transfer-Encoding"] = "chunked"
            connection.request(method, self._base + path, body=_chunks(body), headers=sent, encode_chunked=True)
        else:
            connection.request(method, self._base + path, body=body, headers=sent)
        response = connection.getresponse()
        if response.status >= 400:
            data = response.read()
            self._release(connection, response)
            _raise_for(response.status, data, response.getheader("Retry-After"))
        return connection, response

    def _json(self, method: str, path: str, document: Any = None) -> Any:
        body = None if document is None else json.dumps(document).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection, response = self._send(method, path, body, headers)
        try:
            data = response.read()
        finally:
            self._release(connection, response)
        return json.loads(data) if data else None

    def _run(self, path: str, request: Dict[str, Any], on_stdout: Any, on_stderr: Any) -> Result:
        if on_stdout is None and on_stderr is None:
            return Result(self._json("POST", path, request))
        body = json.dumps(request).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        connection, response = self._send("POST", path, body, headers)
        last = _followed(self, connection, response, on_stdout, on_stderr)
        if last.get("type") == "outcome":
            return Result(last["outcome"])
        if last.get("type") == "error":
            exception = _ERRORS.get(last.get("class") or "", _native.StockadeError)
            raise exception(last.get("error", "the run failed"))
        raise _native.StockadeError("the server's stream ended before the run's outcome")

    # --- the Sandbox API ----------------------------------------------------

    def run(
        self,
        code: str,
        language: str = "python",
        *,
        timeout: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """:meth:`Sandbox.run`, on the server (under the token's policy)."""
        request: Dict[str, Any] = {"language": language, "code": code}
        if timeout is not None:
            request["timeout_ms"] = max(1, int(timeout * 1000))
        if env:
            request["env"] = {str(k): str(v) for k, v in env.items()}
        return self._run("/v1/runs", request, on_stdout, on_stderr)

    def stream(self, code: str, language: str = "python", **options: Any) -> Streamed:
        """:meth:`Sandbox.stream`, on the server."""
        return Streamed(lambda **callbacks: self.run(code, language, **options, **callbacks))

    def session(self, language: str = "python") -> "RemoteSession":
        """Opens a session on the server."""
        opened = self._json("POST", "/v1/sessions", {"language": language})
        return RemoteSession(self, opened["id"], opened["language"])

    def sessions(self) -> List[Dict[str, Any]]:
        """The token's sessions on the server, live and ended."""
        return self._json("GET", "/v1/sessions")["sessions"]

    def health(self) -> bool:
        """Whether the server answers."""
        try:
            self._json("GET", "/v1/health")
        except (OSError, _native.StockadeError):
            return False
        return True

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class RemoteSession:
    """A session on the server: :class:`Session`'s API."""

    def __init__(self, client: Client, id: str, language: str) -> None:
        self._client, self.id, self.language = client, id, language
        self.files = RemoteFiles(client, id)

    def run(
        self,
        code: str,
        *,
        timeout: Optional[float] = None,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """:meth:`Session.run`, on the server."""
        request: Dict[str, Any] = {"code": code}
        if timeout is not None:
            request["timeout_ms"] = max(1, int(timeout * 1000))
        return self._client._run(f"/v1/sessions/{self.id}/runs", request, on_stdout, on_stderr)

    def stream(self, code: str) -> Streamed:
        """:meth:`Session.stream`, on the server."""
        return Streamed(lambda **callbacks: self.run(code, **callbacks))

    def spawn(self, command: str) -> "RemoteCommand":
        """:meth:`Session.spawn`, on the server."""
        started = self._client._json("POST", f"/v1/sessions/{self.id}/commands", {"command": command})
        return RemoteCommand(self._client, self.id, started)

    def commands(self) -> List["RemoteCommand"]:
        """:meth:`Session.commands`, on the server."""
        listed = self._client._json("GET", f"/v1/sessions/{self.id}/commands")["commands"]
        return [RemoteCommand(self._client, self.id, view) for view in listed]

    def close(self) -> None:
        """Closes the session on the server. Closing twice is harmless."""
        try:
            self._client._json("DELETE", f"/v1/sessions/{self.id}")
        except RemoteError as error:
            if error.status != 404:
                raise

    def __enter__(self) -> "RemoteSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RemoteCommand:
    """A background command of a remote session: :class:`Command`'s API."""

    def __init__(self, client: Client, session: str, view: Mapping[str, Any]) -> None:
        self._client = client
        self.id: str = view["id"]
        self.command: str = view["command"]
        self._path = f"/v1/sessions/{session}/commands/{urllib.parse.quote(self.id, safe='')}"

    @property
    def running(self) -> bool:
        """Whether it is still running."""
        return self.output().running

    def output(self) -> CommandOutput:
        """What it has written so far."""
        return CommandOutput._of(self._client._json("GET", self._path))

    def wait(self, timeout: Optional[float] = None) -> CommandOutput:
        """Waits until it ends, ``timeout`` seconds at most (the server
        waits 300 s at most per request, so a longer wait asks again)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 300.0 if deadline is None else max(0.0, deadline - time.monotonic())
            waited = self._client._json("GET", f"{self._path}?wait_ms={int(min(left, 300.0) * 1000)}")
            output = CommandOutput._of(waited)
            if not output.running or (deadline is not None and time.monotonic() >= deadline):
                return output

    def follow(
        self,
        *,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
        timeout: Optional[float] = None,
    ) -> CommandOutput:
        """:meth:`Command.follow`, over the server's ndjson stream."""
        query = "" if timeout is None else f"?timeout_ms={max(0, int(timeout * 1000))}"
        connection, response = self._client._send(
            "GET", self._path + query, headers={"Accept": "application/x-ndjson"}
        )
        last = _followed(self._client, connection, response, on_stdout, on_stderr)
        if last.get("type") == "command":
            return CommandOutput._of(last["command"])
        raise _native.StockadeError("the server's stream ended before the command's state")

    def stream(self, timeout: Optional[float] = None) -> Streamed:
        """:meth:`Command.stream`, on the server."""
        return Streamed(lambda **callbacks: self.follow(timeout=timeout, **callbacks))

    def write(self, data: Union[bytes, str]) -> None:
        """Writes ``data`` to its stdin (``BrokenPipeError`` once closed)."""
        self._stdin(data.encode() if isinstance(data, str) else bytes(data), "")

    def close_stdin(self) -> None:
        """Closes its stdin."""
        self._stdin(b"", "?close=true")

    def _stdin(self, data: bytes, query: str) -> None:
        try:
            connection, response = self._client._send("POST", f"{self._path}/stdin{query}", data)
        except RemoteError as error:
            if error.status == 409:
                raise BrokenPipeError(str(error)) from None
            raise
        response.read()
        self._client._release(connection, response)

    def signal(self, signal: str = "TERM") -> None:
        """Sends it ``signal``, and every process it started."""
        try:
            self._client._json("POST", f"{self._path}/signal", {"signal": signal})
        except RemoteError as error:
            if error.status == 400:
                raise ValueError(str(error)) from None
            raise

    def kill(self, timeout: float = 5.0) -> CommandOutput:
        """Kills it and every process it started; then what it wrote."""
        killed = CommandOutput._of(self._client._json("DELETE", self._path))
        return self.wait(timeout) if killed.running else killed

    def __repr__(self) -> str:
        return f"<RemoteCommand {self.id}: {self.command!r}>"


class RemoteFiles:
    """A remote session's files under its ``/tmp``: :class:`SessionFiles`' API."""

    def __init__(self, client: Client, id: str) -> None:
        self._client, self._id = client, id

    def _path(self, path: str) -> str:
        return f"/v1/sessions/{self._id}/files/" + urllib.parse.quote(path.lstrip("/"), safe="/")

    def write(self, path: str, data: Union[bytes, str, BinaryIO]) -> Dict[str, Any]:
        """Writes ``data`` (bytes, text, or a binary file object, streamed)."""
        if isinstance(data, str):
            data = data.encode()
        connection, response = self._client._send("PUT", self._path(path), data)
        try:
            return json.loads(response.read())
        finally:
            self._client._release(connection, response)

    def read(self, path: str, into: Optional[BinaryIO] = None) -> Any:
        """The file's bytes, or streamed into the file object ``into``."""
        connection, response = self._client._send("GET", self._path(path))
        try:
            if into is None:
                return response.read()
            written = 0
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    return {"path": path, "bytes": written}
                into.write(chunk)
                written += len(chunk)
        finally:
            self._client._release(connection, response)

    def list(self, path: str = "") -> List[Dict[str, Any]]:
        """A folder's entries."""
        query = "?" + urllib.parse.urlencode({"path": path}) if path else ""
        return self._client._json("GET", f"/v1/sessions/{self._id}/files{query}")["entries"]

    def remove(self, path: str) -> None:
        """Removes a file."""
        connection, response = self._client._send("DELETE", self._path(path))
        response.read()
        self._client._release(connection, response)


def _followed(
    client: Client,
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    on_stdout: Any,
    on_stderr: Any,
) -> Dict[str, Any]:
    """Reads an ``application/x-ndjson`` answer: its output and cut lines
    go to the callbacks as the in-process ones get them; returns the first
    other line (how it ended), or ``{}`` if the stream stopped first."""
    decoded = Decoded(on_stdout, on_stderr)
    try:
        for line in response:
            event = json.loads(line)
            kind = event.get("type")
            if kind == "output":
                decoded(event["stream"], event["text"].encode())
            elif kind == "cut":
                decoded(f"{event['stream']}-cut", b"")
            else:
                decoded.finish()
                # The stream's end, so that the connection can be kept.
                response.read()
                return event
    finally:
        client._release(connection, response)
    return {}


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def connect(url: str, token: Optional[str] = None, *, timeout: float = 300.0) -> Client:
    """A client for the ``stockade serve`` at ``url`` (``http://host:port``)."""
    return Client(url, token, timeout=timeout)
