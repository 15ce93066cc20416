"""Issue 19: every surface offers exactly the languages the policy runs.

The Python binding, the MCP server's `run_code` schema and the HTTP API's
OpenAPI document are walked in one test, against one policy, so that a
surface that keeps a language list of its own is caught."""

import hashlib
import json
import os
import pathlib
import subprocess
import threading
import urllib.request

import pytest

import stockade

ROOT = pathlib.Path(__file__).resolve().parents[2]
STOCKADE = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "stockade"

#: Every name of the languages `languages = ["python", "sh"]` runs.
NAMES = {"python", "py", "python3", "sh", "shell"}


def _mcp_tools(policy: pathlib.Path) -> dict:
    """The MCP server's `tools/list` answer, spoken as raw JSON-RPC on stdio."""
    server = subprocess.Popen(
        [str(STOCKADE), "mcp", "--policy", str(policy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        messages = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
                "name": "run_code", "arguments": {"language": "js", "code": "1"}}},
        ]
        for message in messages:
            server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        answers = {}
        timer = threading.Timer(60, server.kill)
        timer.start()
        for line in server.stdout:
            answer = json.loads(line)
            answers[answer.get("id")] = answer
            if 2 in answers and 3 in answers:
                break
        timer.cancel()
        return answers
    finally:
        server.kill()
        server.wait()


def _openapi(tmp_path: pathlib.Path, policy: pathlib.Path) -> dict:
    """The OpenAPI document of a `stockade serve` whose one token has `policy`."""
    token = "a-token-for-the-languages-test"
    config = tmp_path / "server.toml"
    config.write_text(
        'listen = "127.0.0.1:0"\n\n[[tokens]]\nid = "t"\n'
        f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\npolicy = "{policy}"\n'
    )
    server = subprocess.Popen(
        [str(STOCKADE), "serve", "--config", str(config)], stderr=subprocess.PIPE, text=True
    )
    try:
        line = server.stderr.readline()
        address = line.strip().rsplit("http://", 1)[-1]
        with urllib.request.urlopen(f"http://{address}/v1/openapi.json", timeout=30) as answer:
            return json.load(answer)
    finally:
        server.kill()
        server.wait()


def test_every_surface_offers_exactly_the_languages_the_policy_runs(tmp_path):
    if not STOCKADE.exists():
        pytest.fail(f"no {STOCKADE}: scripts/test.sh builds it before pytest runs")
    policy = tmp_path / "policy.toml"
    policy.write_text('languages = ["python", "sh"]\n')

    sandbox = stockade.Sandbox(str(policy))
    assert sandbox.languages == ("python", "sh")
    assert stockade.create_sandbox_tool(policy=str(policy)).languages == ("python", "sh")
    with pytest.raises(stockade.LanguageRefused, match="does not run js: it runs python, sh"):
        sandbox.run("1", "javascript")
    with pytest.raises(ValueError, match="do not include javascript"):
        stockade.create_sandbox_tool(policy=str(policy), languages=["javascript"])

    answers = _mcp_tools(policy)
    (run_code,) = [tool for tool in answers[2]["result"]["tools"] if tool["name"] == "run_code"]
    assert set(run_code["inputSchema"]["properties"]["language"]["enum"]) == NAMES
    assert "Languages: python (" in run_code["description"] and "sh (" in run_code["description"]
    refused = answers[3]["result"]
    assert refused["isError"] is True
    assert "stockade (policy): this sandbox does not run js" in refused["content"][0]["text"]

    document = _openapi(tmp_path, policy)
    assert set(document["components"]["schemas"]["Language"]["enum"]) == NAMES


def test_a_sandbox_tool_without_a_policy_list_offers_only_webassembly():
    assert stockade.create_sandbox_tool().languages == ("javascript", "python")
    assert stockade.Sandbox().languages == ("js", "python", "sh", "bash", "python-native", "node-native")
    with pytest.raises(ValueError, match="unknown language `cobol`: expected one of js, python, sh"):
        stockade.Sandbox().run("1", "cobol")
