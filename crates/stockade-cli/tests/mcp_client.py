"""Drives `stockade mcp` with the official MCP Python client (PyPI `mcp`).

Usage: mcp_client.py STOCKADE POLICY. Prints one JSON document of what the
server answered; the Rust test (tests/cli.rs) checks it.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text(result) -> str:
    return "".join(block.text for block in result.content if getattr(block, "text", None))


async def main(binary: str, policy: str) -> None:
    params = StdioServerParameters(command=binary, args=["mcp", "--policy", policy])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            call = session.call_tool
            js = await call("run_code", {"language": "javascript", "code": "console.log('hi'); 6 * 7"})
            first = await call("run_code", {"language": "python", "code": "x = 20", "session": "s1"})
            second = await call("run_code", {"language": "python", "code": "x * 2 + 2", "session": "s1"})
            fresh = await call("run_code", {"language": "python", "code": "x"})
            escape = await call("run_code", {"language": "python", "code": "open('/etc/passwd').read()"})
            wrong = await call("run_code", {"language": "javascript", "code": "1", "session": "s1"})
            listing = await call("list_sessions", {})
            closed = await call("close_session", {"session": "s1"})
            after = await call("list_sessions", {})
            print(json.dumps({
                "tools": tools,
                "js": {"error": js.is_error, "value": js.structured_content["value"], "text": text(js)},
                "first": {"error": first.is_error},
                "second": {"error": second.is_error, "value": second.structured_content["value"]},
                "fresh": {"error": fresh.is_error, "text": text(fresh)},
                "escape": {"error": escape.is_error, "text": text(escape)},
                "wrong_language": {"error": wrong.is_error, "text": text(wrong)},
                "listing": listing.structured_content,
                "closed": {"error": closed.is_error},
                "after": after.structured_content,
            }))


asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), timeout=180))
