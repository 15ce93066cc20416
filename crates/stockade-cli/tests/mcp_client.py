"""Drives `stockade mcp` with the official MCP Python client (PyPI `mcp`).

Usage: mcp_client.py STOCKADE POLICY (stdio: the client starts the server),
or mcp_client.py --http URL TOKEN (streamable HTTP to a running server; TOKEN
may be empty). Prints one JSON document of what the server answered; the Rust
tests (tests/cli.rs) check it.
"""
import asyncio
import contextlib
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text(result) -> str:
    return "".join(block.text for block in result.content if getattr(block, "text", None))


@contextlib.asynccontextmanager
async def connect(args):
    if args[0] == "--http":
        url, token = args[1], args[2]
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with create_mcp_http_client(headers=headers) as client:
            async with streamable_http_client(url, http_client=client) as streams:
                yield streams[0], streams[1]
    else:
        # The client passes the server only a few variables of its own
        # choosing unless told; the server must see the test's cache
        # (STOCKADE_CACHE_DIR), where the CPython guest was fetched.
        params = StdioServerParameters(command=args[0], args=["mcp", "--policy", args[1]], env=dict(os.environ))
        async with stdio_client(params) as (read, write):
            yield read, write


async def main(args) -> None:
    async with connect(args) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            call = session.call_tool
            js = await call("run_code", {"language": "javascript", "code": "console.log('hi'); 6 * 7"})
            # With a progress callback, the output comes as notifications
            # before the result.
            notes = []

            async def noted(progress, total, message):
                notes.append({"progress": progress, "message": message})

            streamed = await call(
                "run_code",
                {"language": "javascript", "code": "console.log('one'); console.error('two'); console.log('three')"},
                progress_callback=noted,
            )
            notes_before_result = list(notes)
            first = await call("run_code", {"language": "python", "code": "x = 20", "session": "s1"})
            second = await call("run_code", {"language": "python", "code": "x * 2 + 2", "session": "s1"})
            fresh = await call("run_code", {"language": "python", "code": "x"})
            escape = await call("run_code", {"language": "python", "code": "open('/etc/passwd').read()"})
            wrong = await call("run_code", {"language": "javascript", "code": "1", "session": "s1"})
            wrote = await call("write_file", {"session": "s1", "path": "in.txt", "content": "héllo"})
            used = await call("run_code", {"language": "python", "session": "s1",
                                           "code": "open('/tmp/out.bin', 'wb').write(open('/tmp/in.txt').read().upper().encode() + b'\\xff')"})
            back = await call("read_file", {"session": "s1", "path": "/tmp/out.bin"})
            files = await call("list_files", {"session": "s1"})
            climbed = await call("read_file", {"session": "s1", "path": "../etc/passwd"})
            listing = await call("list_sessions", {})
            closed = await call("close_session", {"session": "s1"})
            after = await call("list_sessions", {})
            print(json.dumps({
                "tools": tools,
                "js": {"error": js.is_error, "value": (js.structured_content or {}).get("value"), "text": text(js)},
                "streamed": {"error": streamed.is_error, "text": text(streamed), "notes": notes_before_result},
                "first": {"error": first.is_error},
                # A failed call has no structured content: its text says why.
                "second": {"error": second.is_error, "value": (second.structured_content or {}).get("value", text(second))},
                "fresh": {"error": fresh.is_error, "text": text(fresh)},
                "escape": {"error": escape.is_error, "text": text(escape)},
                "wrong_language": {"error": wrong.is_error, "text": text(wrong)},
                "wrote": wrote.structured_content,
                "used": {"error": used.is_error, "text": text(used)},
                "back": back.structured_content,
                "files": files.structured_content,
                "climbed": {"error": climbed.is_error, "text": text(climbed)},
                "listing": listing.structured_content,
                "closed": {"error": closed.is_error},
                "after": after.structured_content,
            }))


asyncio.run(asyncio.wait_for(main(sys.argv[1:]), timeout=180))
