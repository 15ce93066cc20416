"""stockade: run the code an LLM wrote apart from the agent, with nothing it
was not granted.

>>> from stockade import Sandbox
>>> sandbox = Sandbox()
>>> result = sandbox.run("print(6 * 7)")
>>> result.stdout
'42\\n'

Amla's API works unchanged:

>>> from stockade import create_sandbox_tool
>>> def get_weather(city: str) -> dict:
...     return {"city": city, "temp": 72}
>>> sandbox = create_sandbox_tool(tools=[get_weather])
>>> print(sandbox.run("const w = await get_weather({city: 'SF'}); return w;", language="javascript"))
{"city": "SF", "temp": 72}
"""

from ._native import (
    AuditError,
    Busy,
    CodeRefused,
    CommandFailed,
    EngineError,
    GuestUnavailable,
    LanguageRefused,
    PolicyError,
    SessionEnded,
    SessionFileError,
    StockadeError,
    fetch_python,
    python_fetched,
)
from ._commands import Command, CommandOutput
from ._async import AsyncCommand, AsyncSandbox, AsyncSession, AsyncSessionFiles
from ._result import GuestError, Result, Usage
from ._sandbox import Sandbox, SandboxTool, Session, SessionFiles, ToolOutput, create_sandbox_tool
from ._stream import Chunk, Streamed
from ._remote import Client, RemoteCommand, RemoteError, RemoteFiles, RemoteSession, connect
from ._tools import ToolError, ToolSpec, json_schema_for, tool_spec

__version__ = "0.1.0"

__all__ = [
    "AsyncCommand",
    "AsyncSandbox",
    "AsyncSession",
    "AsyncSessionFiles",
    "AuditError",
    "Busy",
    "Chunk",
    "Client",
    "CodeRefused",
    "Command",
    "CommandFailed",
    "CommandOutput",
    "EngineError",
    "GuestError",
    "GuestUnavailable",
    "LanguageRefused",
    "PolicyError",
    "RemoteError",
    "RemoteCommand",
    "RemoteFiles",
    "RemoteSession",
    "Result",
    "Sandbox",
    "SandboxTool",
    "Session",
    "SessionEnded",
    "SessionFileError",
    "SessionFiles",
    "StockadeError",
    "Streamed",
    "ToolError",
    "ToolOutput",
    "ToolSpec",
    "Usage",
    "connect",
    "create_sandbox_tool",
    "fetch_python",
    "json_schema_for",
    "python_fetched",
    "tool_spec",
]
