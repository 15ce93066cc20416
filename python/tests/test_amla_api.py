"""``stockade.amla``: Amla's lower-level API (issue 18), run on stockade,
beside amla-sandbox itself where both can run the same code."""

import json

import amla_sandbox
import pytest

from stockade import amla


def _setup(module, refunds):
    tools = [
        module.ToolDefinition(
            name="issue_refund",
            description="Refunds an amount.",
            parameters={"type": "object", "properties": {"amount": {"type": "number"}, "reason": {"type": "string"}}},
        ),
        module.ToolDefinition(name="stripe.listTransactions", description="Lists transactions.",
                              parameters={"type": "object", "properties": {"customer": {"type": "string"}}}),
    ]
    capabilities = [
        module.ToolCallCap(
            method_pattern="mcp:issue_refund",
            constraints=module.ConstraintSet([module.Param("amount") <= 1000, module.Param("amount") > 0]),
            max_calls=2,
        ),
        module.ToolCallCap(method_pattern="mcp:stripe.listTransactions"),
    ]

    def handler(method, params):
        if method == "issue_refund":
            refunds.append(params["amount"])
            return {"refunded": params["amount"]}
        return [{"id": "t1", "customer": params["customer"]}]

    return module.Sandbox(tools=tools, capabilities=capabilities, tool_handler=handler)


@pytest.mark.parametrize("module", [amla, amla_sandbox], ids=["stockade", "amla"])
def test_the_same_code_runs_with_only_the_import_changed(module):
    refunds = []
    sandbox = _setup(module, refunds)
    key = "cap:tool-call:mcp:issue_refund"
    assert sandbox.get_remaining_calls(key) == 2
    assert sandbox.can_call("mcp:issue_refund", {"amount": 10})
    assert not sandbox.can_call("mcp:issue_refund", {"amount": 5000})
    out = sandbox.execute("console.log(JSON.stringify(await issue_refund({amount: 10})))")
    assert json.loads(out.strip()) == {"refunded": 10}
    denied = sandbox.execute("try { await issue_refund({amount: 5000}); console.log('sent') } catch (e) { console.log('refused') }")
    assert denied.strip() == "refused"
    assert sandbox.get_remaining_calls(key) == 1
    assert sandbox.get_call_counts() == {key: 1}
    # Tools with dots are called by Amla's JavaScript names.
    listed = sandbox.execute("console.log(JSON.stringify(await stripe_listTransactions({customer: 'cus_1'})))")
    assert json.loads(listed.strip()) == [{"id": "t1", "customer": "cus_1"}]
    # The VFS lasts across runs, as the workspace does.
    sandbox.execute("await fs.writeFile('/workspace/n.txt', '7')")
    assert sandbox.execute("console.log(await fs.readFile('/workspace/n.txt', 'utf8'))").strip() == "7"
    sandbox.execute("console.log(JSON.stringify(await issue_refund({amount: 20})))")
    assert sandbox.get_remaining_calls(key) == 0 and not sandbox.can_call("mcp:issue_refund", {"amount": 1})
    sandbox.execute("try { await issue_refund({amount: 30}) } catch (e) {}")
    assert refunds == [10, 20], "the handler runs only for allowed calls"
    assert sandbox.get_remaining_calls("cap:tool-call:mcp:stripe.listTransactions") is None


def test_stockades_shell_shares_the_workspace_and_names_tools_alike():
    sandbox = _setup(amla, [])
    sandbox.execute("await fs.writeFile('/workspace/data.json', JSON.stringify({items: [1, 2, 3]}))")
    assert sandbox.shell("jq '.items | length' /workspace/data.json").strip() == "3"
    out = sandbox.shell("tool stripe_listTransactions --customer cus_9 | jq -r '.[0].customer'")
    assert out.strip() == "cus_9", out
    assert sandbox.shell("wc -l", stdin="a\nb\n").strip() == "2"
    # A line of the data that looks like the document's end is data.
    assert sandbox.shell("cat", stdin="STOCKADE_STDIN\necho ran").strip() == "STOCKADE_STDIN\necho ran"


def test_what_does_not_map_is_refused_not_widened():
    tool = lambda name: amla.ToolDefinition(name, "", {"type": "object", "properties": {"x": {"type": "number"}}})
    with pytest.raises(ValueError, match="budgets each tool"):
        amla.Sandbox(tools=[tool("a/one"), tool("a/two")], capabilities=[amla.ToolCallCap("a/*", max_calls=3)])
    with pytest.raises(ValueError, match="one set of rules"):
        amla.Sandbox(tools=[tool("a")], capabilities=[amla.ToolCallCap("a"), amla.ToolCallCap("**")])
    with pytest.raises(ValueError, match="or_"):
        rule = amla.Constraint.or_([amla.Param("x") < 1, amla.Param("x") > 5])
        amla.Sandbox(tools=[tool("a")], capabilities=[amla.ToolCallCap("a", amla.ConstraintSet([rule]))])
    with pytest.raises(ValueError, match="PCA"):
        amla.Sandbox(pca=b"token")
    # An or_ of == on one parameter is is_in, and maps.
    either = amla.Constraint.or_([amla.Param("x") == 1, amla.Param("x") == 2])
    sandbox = amla.Sandbox(tools=[tool("a")], capabilities=[amla.ToolCallCap("a", amla.ConstraintSet([either]))],
                           tool_handler=lambda method, params: params["x"])
    assert sandbox.execute("console.log(await a({x: 2}))").strip() == "2"
    assert "ToolDenied" in sandbox.execute("await a({x: 3})")
    # A tool no capability matches is not offered.
    none = amla.Sandbox(tools=[tool("b")], capabilities=[amla.ToolCallCap("a")], tool_handler=lambda m, p: 1)
    assert "not defined" in none.execute("await b({x: 1})")


def test_method_patterns_match_as_amlas_do():
    for method, pattern in [("stripe/charges/create", "stripe/charges/*"), ("stripe", "stripe/**"),
                            ("stripe/charges/refund/full", "stripe/**"), ("a", "**")]:
        assert amla.method_matches_pattern(method, pattern) == amla_sandbox.method_matches_pattern(method, pattern) is True
    for method, pattern in [("stripe/charges/refund/full", "stripe/charges/*"), ("stripes", "stripe/**")]:
        assert amla.method_matches_pattern(method, pattern) == amla_sandbox.method_matches_pattern(method, pattern) is False
