"""What a run produced: :class:`Result`, with its :class:`Usage` and :class:`GuestError`."""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

__all__ = ["Result", "Usage", "GuestError"]

_LIMIT_KEYS = {
    "wall": "limits.wall_ms",
    "fuel": "limits.fuel",
    "memory": "limits.memory_bytes",
    "output": "limits.stdout_bytes",
}


class GuestError:
    """An error the guest code raised and did not catch."""

    __slots__ = ("type", "message", "traceback")

    def __init__(self, type: str, message: str, traceback: Optional[str]) -> None:
        #: The error's class name (``ZeroDivisionError``, ``TypeError``, ``ToolDenied``).
        self.type = type
        #: The error's message.
        self.message = message
        #: The guest's traceback or stack trace, when it has one.
        self.traceback = traceback

    def __repr__(self) -> str:
        return f"GuestError(type={self.type!r}, message={self.message!r})"


class Usage:
    """What a run consumed."""

    __slots__ = ("wall_us", "fuel", "peak_memory_bytes", "output_bytes", "tool_calls", "network")

    def __init__(self, raw: dict) -> None:
        #: Wall-clock time of the run, in microseconds.
        self.wall_us: int = raw.get("wall_us", 0)
        #: Fuel burned, when the policy meters fuel.
        self.fuel: Optional[int] = raw.get("fuel")
        #: Peak guest memory, in bytes.
        self.peak_memory_bytes: int = raw.get("peak_memory_bytes", 0)
        #: Bytes written to stdout and stderr, including dropped ones.
        self.output_bytes: int = raw.get("output_bytes", 0)
        #: Tool calls the guest attempted, allowed or refused.
        self.tool_calls: int = raw.get("tool_calls", 0)
        #: What the guest used of its network (``requests``, ``bytes_out``,
        #: ``bytes_in``), or ``None`` when the policy allows none.
        self.network: Optional[dict] = raw.get("network")

    @property
    def wall_seconds(self) -> float:
        """Wall-clock time of the run, in seconds."""
        return self.wall_us / 1e6

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Usage({fields})"


class Result:
    """The outcome of one run.

    A guest failure is a value here, never an exception: ``status`` says how
    the run ended (``"ok"``, ``"guest_error"``, ``"exited"``,
    ``"limit_exceeded"`` or ``"cancelled"``). ``str(result)`` is a short text
    for a language model: the output, the value, and what went wrong.
    """

    __slots__ = (
        "status",
        "stdout",
        "stderr",
        "value",
        "exit_code",
        "error",
        "limit",
        "stdout_truncated",
        "stderr_truncated",
        "usage",
        "audit",
    )

    def __init__(self, raw: dict) -> None:
        status = raw["status"]
        #: How the run ended: ``"ok"``, ``"guest_error"``, ``"exited"``, ``"limit_exceeded"`` or ``"cancelled"``.
        self.status: str = status["kind"]
        #: Standard output (at most ``limits.stdout_bytes``).
        self.stdout: str = raw["stdout"]
        #: Standard error (at most ``limits.stderr_bytes``).
        self.stderr: str = raw["stderr"]
        #: The value of the last expression (or a top-level ``return``), as JSON data.
        self.value: Any = raw.get("value")
        #: 0 when the code finished, 1 for an uncaught error, ``sys.exit``'s code, or 124/125/137/141 for a limit.
        self.exit_code: int = raw["exit_code"]
        #: The uncaught error, when ``status == "guest_error"``.
        self.error: Optional[GuestError] = None
        if self.status == "guest_error":
            self.error = GuestError(status.get("type", ""), status.get("message", ""), status.get("stack"))
        #: Which budget ran out (``"wall"``, ``"fuel"``, ``"memory"``, ``"output"``), when ``status == "limit_exceeded"``.
        self.limit: Optional[str] = status.get("which")
        #: Whether stdout was cut at its cap.
        self.stdout_truncated: bool = raw.get("stdout_truncated", False)
        #: Whether stderr was cut at its cap.
        self.stderr_truncated: bool = raw.get("stderr_truncated", False)
        #: What the run consumed.
        self.usage = Usage(raw.get("usage", {}))
        #: The run's first and last sequence numbers in the audit log, when there is one.
        self.audit: Optional[Tuple[int, int]] = None
        if raw.get("audit"):
            self.audit = (raw["audit"]["first"], raw["audit"]["last"])

    @property
    def ok(self) -> bool:
        """True when the code ran to the end."""
        return self.status == "ok"

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        parts = [f"status={self.status!r}"]
        if self.error is not None:
            parts.append(f"error={self.error!r}")
        if self.limit is not None:
            parts.append(f"limit={self.limit!r}")
        parts.append(f"stdout={self.stdout!r}")
        if self.value is not None:
            parts.append(f"value={self.value!r}")
        return f"Result({', '.join(parts)})"

    def __str__(self) -> str:
        parts = []
        if self.stdout:
            parts.append(self.stdout.rstrip("\n"))
        if isinstance(self.value, str):
            # As Amla prints it: a returned string as it is, other values as JSON.
            parts.append(self.value)
        elif self.value is not None:
            parts.append(json.dumps(self.value, ensure_ascii=False))
        if self.status == "guest_error" and self.error is not None:
            if self.error.traceback and self.error.traceback.startswith("Traceback"):
                parts.append(self.error.traceback.rstrip("\n"))
            else:
                parts.append(f"{self.error.type}: {self.error.message}")
                if self.error.traceback:
                    parts.append(self.error.traceback.rstrip("\n"))
        elif self.status == "limit_exceeded":
            key = _LIMIT_KEYS.get(self.limit or "", self.limit)
            parts.append(f"stopped: the run exceeded {key}")
        elif self.status == "exited":
            parts.append(f"exited with code {self.exit_code}")
        elif self.status == "cancelled":
            parts.append("stopped: the run was cancelled")
        if self.stderr and self.status != "guest_error":
            parts.append(self.stderr.rstrip("\n"))
        return "\n".join(parts)
