"""The code users already write (shared/EXAMPLES.md §1, §2, §4), run as it is."""

import json

from stockade import Sandbox, create_sandbox_tool


def test_host_tools_from_javascript_amla_example_1():
    from stockade import create_sandbox_tool

    def get_weather(city: str) -> dict:
        return {"city": city, "temp": 72}

    sandbox = create_sandbox_tool(tools=[get_weather])

    result = sandbox.run(
        "const w = await get_weather({city: 'SF'}); return w;",
        language="javascript"
    )
    assert json.loads(result) == {"city": "SF", "temp": 72}
    assert result.result.value == {"city": "SF", "temp": 72}
    assert result.result.usage.tool_calls == 1


def test_constraints_and_call_budgets_amla_example_2():
    sent = []

    def transfer_money(amount: float, currency: str) -> dict:
        sent.append((amount, currency))
        return {"ok": True}

    sandbox = create_sandbox_tool(
        tools=[transfer_money],
        constraints={
            "transfer_money": {
                "amount": "<=1000",
                "currency": ["USD", "EUR"],
            },
        },
        max_calls={"transfer_money": 10},
    )
    too_much = sandbox.run("await transfer_money({amount: 5000, currency: 'USD'})", language="javascript")
    assert "ToolDenied" in too_much and "amount: 5000 violates `<= 1000`" in too_much
    wrong_currency = sandbox.run("await transfer_money({amount: 10, currency: 'GBP'})", language="javascript")
    assert "ToolDenied" in wrong_currency and "currency" in wrong_currency
    assert sent == []

    eleven = sandbox.run(
        "let n = 0;\n"
        "try { for (let i = 0; i < 11; i++) { await transfer_money({amount: 1, currency: 'EUR'}); n++ } }\n"
        "catch (e) { return [n, e.name, e.kind] }",
        language="javascript",
    )
    assert eleven.result.value == [10, "ToolDenied", "budget_exceeded"]
    assert len(sent) == 10

    # The same sandbox from Python guest code.
    refused = sandbox.run(
        "try:\n    transfer_money(amount=5000, currency='USD')\nexcept ToolDenied as e:\n    print(type(e).__name__, e)",
        language="python",
    )
    assert refused.result.stdout == "ToolDenied transfer_money: amount: 5000 violates `<= 1000`\n"
    assert len(sent) == 10


def test_isolate_generated_code_from_agent_code_example_4(monkeypatch):
    monkeypatch.setenv("AGENT_API_KEY", "sk-secret")
    llm_output = "import os\nprint(os.environ.get('AGENT_API_KEY'))\nopen('/etc/passwd').read()"
    sandbox = Sandbox()
    result = sandbox.run_code(llm_output)
    sandbox.destroy()
    assert result.stdout == "None\n"
    assert result.status == "guest_error"
    assert result.error.type == "FileNotFoundError"
