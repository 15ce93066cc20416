"""Output as the guest writes it: the ``on_stdout=`` and ``on_stderr=``
callbacks of a run, and :meth:`Sandbox.stream`'s iterator form."""

from __future__ import annotations

import codecs
import queue
import threading
from typing import Any, Callable, Iterator, NamedTuple, Optional

OnText = Optional[Callable[[str], Any]]


class Chunk(NamedTuple):
    """Text the guest wrote to ``stream`` (``"stdout"`` or ``"stderr"``)."""

    stream: str
    text: str


class Decoded:
    """The native ``on_output(stream, bytes)`` callable, calling
    ``on_stdout(text)`` and ``on_stderr(text)`` with the text decoded as
    UTF-8 (a character split between two writes is passed once whole;
    invalid bytes become U+FFFD, as the outcome's text has them). A cap's
    cut is passed on as a line saying so, after the kept text."""

    def __init__(self, on_stdout: OnText, on_stderr: OnText) -> None:
        self._targets = {"stdout": on_stdout, "stderr": on_stderr}
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in self._targets}

    def __call__(self, stream: str, data: bytes) -> None:
        if stream.endswith("-cut"):
            stream = stream[: -len("-cut")]
            self._send(stream, self._decoders[stream].decode(b"", final=True))
            self._send(stream, f"[stockade: {stream} passed its cap; the rest was dropped]\n")
            return
        self._send(stream, self._decoders[stream].decode(data))

    def finish(self) -> None:
        """Passes on what is left of a character that never finished."""
        for stream, decoder in self._decoders.items():
            self._send(stream, decoder.decode(b"", final=True))

    def _send(self, stream: str, text: str) -> None:
        target = self._targets[stream]
        if text and target is not None:
            target(text)


def run_streamed(run: Callable[[Any], Any], on_stdout: OnText, on_stderr: OnText) -> Any:
    """``run(on_output)`` with the native callable made of the two text
    callbacks, or ``run(None)`` when there are none."""
    if on_stdout is None and on_stderr is None:
        return run(None)
    decoded = Decoded(on_stdout, on_stderr)
    outcome = run(decoded)
    decoded.finish()
    return outcome


class Streamed:
    """An iterator of a run's :class:`Chunk` objects as the guest writes
    them; once it is exhausted, :attr:`result` holds the run's
    :class:`~stockade.Result` (an exception of the run is raised by the
    iteration instead). The run goes on a thread of its own."""

    _END = object()

    def __init__(self, run: Callable[..., Any]) -> None:
        self.result: Any = None
        self._chunks: "queue.Queue[Any]" = queue.Queue()
        self._error: Optional[BaseException] = None

        def worker() -> None:
            try:
                self.result = run(
                    on_stdout=lambda text: self._chunks.put(Chunk("stdout", text)),
                    on_stderr=lambda text: self._chunks.put(Chunk("stderr", text)),
                )
            except BaseException as error:  # re-raised by the iteration
                self._error = error
            finally:
                self._chunks.put(self._END)

        self._thread = threading.Thread(target=worker, name="stockade-stream", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        item = self._chunks.get()
        if item is self._END:
            self._chunks.put(self._END)
            self._thread.join()
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            raise StopIteration
        return item
