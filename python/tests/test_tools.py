"""Python functions as tools: schemas from type hints, errors, refusals, async."""

import asyncio
import enum
from typing import Dict, List, Literal, Optional, Tuple

import pytest

from stockade import PolicyError, Sandbox, ToolError, create_sandbox_tool, json_schema_for, tool_spec


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


def forecast(city: str, days: int = 3, unit: Unit = Unit.CELSIUS, tags: Optional[List[str]] = None) -> dict:
    """The weather to come in a city.

    Args:
        city: The city's name,
            in English.
        days (int): How many days ahead.
    """
    return {"city": city, "days": days, "unit": unit, "tags": tags}


def refusal(sandbox: Sandbox, call: str) -> str:
    """The kind of the ToolDenied that ``call`` raises in the guest, as it prints it."""
    return sandbox.run(f"try:\n    {call}\nexcept ToolDenied as e:\n    print(e.kind)").stdout


def test_schema_from_type_hints_and_docstring():
    spec = tool_spec(forecast)
    assert spec.name == "forecast"
    assert spec.description == "The weather to come in a city."
    assert spec.schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name, in English."},
            "days": {"type": "integer", "description": "How many days ahead.", "default": 3},
            "unit": {"enum": ["c", "f"], "default": "c"},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None},
        },
        "required": ["city"],
        "additionalProperties": False,
        "x-stockade-order": ["city", "days", "unit", "tags"],
    }


def test_schemas_of_common_types():
    assert json_schema_for(Dict[str, float]) == {"type": "object", "additionalProperties": {"type": "number"}}
    assert json_schema_for(Literal["a", "b"]) == {"enum": ["a", "b"]}
    assert json_schema_for(bool) == {"type": "boolean"}
    assert json_schema_for(list) == {"type": "array"}


def test_tools_run_from_both_languages_with_json_results():
    sandbox = Sandbox(tools=[forecast])
    js = sandbox.run("await forecast({city: 'Oslo', unit: 'f'})", language="javascript")
    assert js.value == {"city": "Oslo", "days": 3, "unit": "f", "tags": None}
    py = sandbox.run("forecast('Oslo', days=1)['days']")
    assert py.value == 1


def assert_refused_before_the_tool_runs(sandbox: Sandbox, calls: list, codes) -> None:
    """Each of `codes` is refused for its arguments, and the tool (which
    appends to `calls`) never ran."""
    for code in codes:
        assert refusal(sandbox, code) == "invalid_arguments\n", code
    assert calls == []


def test_off_schema_arguments_never_reach_the_tool():
    calls = []

    def add(a: int, b: int) -> int:
        calls.append((a, b))
        return a + b

    sandbox = Sandbox(tools=[add])
    assert_refused_before_the_tool_runs(sandbox, calls, ("add(a='1', b=2)", "add(a=1)", "add(a=1, b=2, c=3)"))
    assert sandbox.run("add(2, 3)").value == 5


def test_a_tool_exception_reaches_the_guest_as_tool_error():
    def lookup(key: str) -> str:
        raise KeyError(key)

    sandbox = Sandbox(tools=[lookup])
    result = sandbox.run("try { await lookup({key: 'k'}) } catch (e) { [e.name, e.message] }", language="javascript")
    assert result.value == ["ToolError", "lookup: KeyError: 'k'"]
    py = sandbox.run("try:\n    lookup('k')\nexcept ToolError as e:\n    message = str(e)\nmessage")
    assert py.value == "lookup: KeyError: 'k'"


def test_a_tools_errors_reach_the_guest_only_as_far_as_they_are_meant_to(caplog):
    def pay(amount: int) -> str:
        if amount > 100:
            raise ValueError("amount over 100")
        if amount == 13:
            raise ToolError("the bank is closed")
        raise ConnectionError("https://bank.internal/pay?token=sk-host-secret refused")

    sandbox = Sandbox(tools=[pay])

    def message(call: str) -> str:
        return sandbox.run(f"try:\n    {call}\nexcept ToolError as e:\n    m = str(e)\nm").value

    assert message("pay(amount=500)") == "pay: ValueError: amount over 100"
    assert message("pay(amount=13)") == "pay: the bank is closed"
    with caplog.at_level("WARNING", logger="stockade"):
        withheld = message("pay(amount=1)")
    assert withheld == "pay: ConnectionError (the tool failed; its message stays on the host)"
    assert "sk-host-secret" not in withheld
    assert "sk-host-secret" in caplog.text and "tool pay raised ConnectionError" in caplog.text
    js = sandbox.run("try { await pay({amount: 1}) } catch (e) { e.message }", language="javascript")
    assert js.value == withheld


def test_async_tools_and_non_json_results():
    async def slow_double(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * 2

    def odd() -> object:
        return object()

    sandbox = Sandbox(tools=[slow_double, odd])
    assert sandbox.run("slow_double(21)").value == 42
    refused = sandbox.run("odd()")
    assert refused.error.type == "ToolError" and "not JSON data" in refused.error.message


def test_amla_constraint_forms():
    def fetch(path: str, retries: int = 0) -> str:
        return path

    sandbox = create_sandbox_tool(
        tools=[fetch], constraints={"fetch": {"path": "startswith:/api/", "retries": 0}}, max_calls=2
    )
    assert sandbox.run("fetch(path='/api/x', retries=0)", language="python").result.value == "/api/x"
    # A constrained argument must be given: the host never sees the default.
    missing = sandbox.run("fetch(path='/api/x')", language="python").result
    assert missing.error.type == "ToolDenied" and "retries is missing" in missing.error.message
    denied = sandbox.run("fetch(path='/etc/passwd', retries=0)", language="python").result
    assert denied.error.type == "ToolDenied" and "starts_with" in denied.error.message
    assert sandbox.run("fetch(path='/api/x', retries=3)", language="python").result.error.type == "ToolDenied"
    # max_calls=2 spans the sandbox tool's life (Amla's reading): one call
    # above was allowed, so the second of these is the last.
    spent = sandbox.run("[fetch(path='/api/a', retries=0) for _ in range(3)]", language="python").result
    assert "all 2 calls this sandbox may make are spent" in spent.error.message


def test_invalid_constraints_are_errors_not_skipped():
    def pay(amount: float) -> None:
        return None

    with pytest.raises(PolicyError):
        create_sandbox_tool(tools=[pay], constraints={"pay": {"amount": "<=lots"}})
    with pytest.raises(ValueError, match="not one of the tools"):
        create_sandbox_tool(tools=[pay], constraints={"refund": {"amount": "<=1"}})
    with pytest.raises(ValueError, match="not one of the tools"):
        create_sandbox_tool(tools=[pay], max_calls={"refund": 1})
    with pytest.raises(ValueError, match="two tools"):
        Sandbox(tools=[pay, pay])
    with pytest.raises(TypeError):
        Sandbox(tools=["pay"])


def test_a_policy_that_lists_a_tool_keeps_its_own_rules(tmp_path):
    def pay(amount: float) -> bool:
        return True

    policy = {"tools": {"pay": {"max_calls": 1, "constraints": {"amount": "<= 5"}}}}
    sandbox = Sandbox(policy, tools=[pay])
    assert sandbox.run("pay(amount=1)").value is True
    assert sandbox.run("pay(amount=1); pay(amount=1)").error.type == "ToolDenied"
    with pytest.raises(PolicyError, match="the policy sets it"):
        Sandbox(policy, tools=[pay], max_calls={"pay": 10})


def test_unregistered_names_are_not_tools():
    result = Sandbox().run("typeof get_weather", language="javascript")
    assert result.value == "undefined"


def test_positional_arguments_follow_the_functions_order():
    def sub(x: int, a: int) -> int:
        return x - a

    def send(to: str, subject: str, body: str = "") -> list:
        return [to, subject, body]

    sandbox = Sandbox(tools=[sub, send])
    assert sandbox.run("sub(10, 3)").value == 7
    assert sandbox.run("send('bob@example.com', 'Hi', 'text')").value == ["bob@example.com", "Hi", "text"]


def test_only_keyboard_interrupt_leaves_the_run():
    import argparse

    def strict(flag: str) -> str:
        parser = argparse.ArgumentParser(exit_on_error=False, add_help=False)
        parser.add_argument("--n", type=int)
        parser.parse_args([flag])  # exits with SystemExit on bad input
        return "parsed"

    sandbox = Sandbox(tools=[strict])
    result = sandbox.run("try:\n    strict(flag='--bogus')\nexcept ToolError as e:\n    m = str(e)\nm")
    assert result.ok and "SystemExit" in result.value, result


def test_a_startswith_prefix_is_kept_exactly():
    def auth(header: str) -> bool:
        return True

    sandbox = create_sandbox_tool(tools=[auth], constraints={"auth": {"header": "startswith:Bearer "}})
    assert sandbox.run("auth(header='Bearer abc')", language="python").result.value is True
    assert sandbox.run("auth(header='Bearerabc')", language="python").result.error.type == "ToolDenied"


def test_positional_only_parameters_are_refused_at_registration():
    def f(a: int, /) -> int:
        return a

    with pytest.raises(ValueError, match="positional-only"):
        Sandbox(tools=[f])


def test_a_sandbox_tool_runs_only_the_languages_it_was_given():
    tool = create_sandbox_tool()
    assert tool.languages == ("javascript", "python")
    assert str(tool.run("6 * 7")) == "42"  # JavaScript, Amla's default
    for language in ("sh", "bash", "python-native", "node-native", "cobol"):
        with pytest.raises(ValueError, match="not '"):
            tool.run("echo escaped", language)
    jailed = create_sandbox_tool(languages=["python", "sh"])
    assert jailed.run("echo hi", "sh").result.stdout == "hi\n"
    assert str(jailed.run("6 * 7")) == "42"  # the first listed is the default
    with pytest.raises(ValueError):
        create_sandbox_tool(languages=["cobol"])
    with pytest.raises(ValueError):
        create_sandbox_tool(languages=[])


def test_arguments_arrive_as_their_declared_types():
    import dataclasses

    import pydantic

    @dataclasses.dataclass
    class Point:
        x: int
        unit: Unit = Unit.CELSIUS

    class Order(pydantic.BaseModel):
        item: str
        quantity: int

    seen = {}

    def record(unit: Unit, point: Point, order: Order, pair: Tuple[int, str], maybe: Optional[Unit] = None,
               units: Optional[List[Unit]] = None) -> str:
        seen.update(unit=unit, point=point, order=order, pair=pair, maybe=maybe, units=units)
        return "ok"

    sandbox = Sandbox(tools=[record])
    code = "record(unit='f', point={'x': 1, 'unit': 'f'}, order={'item': 'tea', 'quantity': 2}, pair=[1, 'a'], units=['c'])"
    assert sandbox.run(code).value == "ok"
    assert seen["unit"] is Unit.FAHRENHEIT
    assert seen["point"] == Point(1, Unit.FAHRENHEIT)
    assert isinstance(seen["order"], Order) and seen["order"].quantity == 2
    assert seen["pair"] == (1, "a") and seen["maybe"] is None and seen["units"] == [Unit.CELSIUS]


def test_annotated_bounds_are_checked_before_the_tool_runs():
    import pydantic
    from typing import Annotated

    calls = []

    def pay(amount: Annotated[float, pydantic.Field(gt=0, le=1000, description="In dollars.")],
            memo: Annotated[str, pydantic.Field(max_length=8)] = "") -> float:
        calls.append(amount)
        return amount

    schema = tool_spec(pay).schema["properties"]
    assert schema["amount"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "In dollars."}
    assert schema["memo"]["maxLength"] == 8
    sandbox = Sandbox(tools=[pay])
    assert_refused_before_the_tool_runs(sandbox, calls, ("pay(0)", "pay(1000.5)", "pay(5, memo='far too long')"))
    assert sandbox.run("pay(1000)").value == 1000


def test_one_unresolvable_hint_leaves_the_others():
    def lookup(key: "NoSuchType", limit: int = 5) -> int:  # noqa: F821
        return limit

    schema = tool_spec(lookup).schema["properties"]
    assert schema["limit"]["type"] == "integer" and schema["key"] == {}


def test_nested_pydantic_models_are_usable_tool_arguments():
    import pydantic

    class Address(pydantic.BaseModel):
        city: str

    class Customer(pydantic.BaseModel):
        name: str
        address: Address

    seen = []

    def register(customer: Customer, others: Optional[List[Customer]] = None) -> str:
        seen.append(customer)
        return customer.address.city

    schema = tool_spec(register).schema
    assert set(schema["$defs"]) == {"Address"}  # hoisted from each model's own root
    sandbox = Sandbox(tools=[register])
    result = sandbox.run("register(customer={'name': 'Ada', 'address': {'city': 'Oslo'}}, others=[])")
    assert result.value == "Oslo", result
    assert isinstance(seen[0].address, Address)
    assert refusal(sandbox, "register(customer={'name': 'Ada', 'address': {'town': 1}})") == "invalid_arguments\n"
    assert len(seen) == 1


def test_create_sandbox_tools_max_calls_spans_its_whole_life_as_amlas_does() -> None:
    # Amla: max_calls={"issue_refund": 5} is "max 5 refunds per session".
    refunds = []

    def issue_refund(amount: float) -> dict:
        """Refunds an amount."""
        refunds.append(amount)
        return {"refunded": amount}

    tool = create_sandbox_tool(tools=[issue_refund], max_calls={"issue_refund": 2})
    outputs = [tool.run("await issue_refund({amount: 1})", language="javascript") for _ in range(3)]
    assert "refunded" in outputs[0] and "refunded" in outputs[1]
    assert "ToolDenied" in outputs[2] and "spent" in outputs[2], outputs[2]
    # A Python run draws on the same budget.
    assert "ToolDenied" in tool.run("issue_refund(amount=1)", language="python")
    assert refunds == [1, 1]
    # The general Sandbox keeps its per-run budget unless told.
    per_run = Sandbox(tools=[issue_refund], max_calls={"issue_refund": 1})
    for _ in range(2):
        assert per_run.run("issue_refund(amount=2)").ok
    assert refunds == [1, 1, 2, 2]


def test_a_returned_string_is_printed_unquoted_and_other_values_as_json() -> None:
    tool = create_sandbox_tool()
    assert tool.run("return 'hello'", language="javascript") == "hello"
    assert tool.run("return {a: 'b'}", language="javascript") == '{"a": "b"}'
    assert tool.run("'text'", language="python") == "text"


def test_a_sandbox_tool_runs_amlas_shell_with_host_tools_as_the_tool_command() -> None:
    def get_weather(city: str) -> dict:
        """Today's weather in a city."""
        return {"city": city, "temp": 72}

    sandbox = create_sandbox_tool(tools=[get_weather], languages=["javascript", "shell"], max_calls=2)
    assert '"shell": a POSIX shell in a process jail; call tools as `tool NAME --key value`' in sandbox.description
    out = sandbox.run("tool get_weather --city SF | tr -d ' '", language="shell")
    assert out == '{"city":"SF","temp":72}', out
    assert sandbox.run("tool get_weather --city LA", language="sh").result.ok
    # max_calls spans the tool's life across languages: the third call is refused.
    denied = sandbox.run("tool get_weather --city NY", language="shell")
    assert denied.result.exit_code == 1 and "budget_exceeded" in denied, denied
    with pytest.raises(ValueError):
        sandbox.run("1", language="python")


def test_a_sandbox_tools_workspace_lasts_across_its_runs_and_languages() -> None:
    # Amla: "/workspace and /tmp are writable ... persist across runs of one sandbox tool".
    tool = create_sandbox_tool(languages=["javascript", "python", "shell"])
    tool.run("await fs.writeFile('/workspace/data.json', JSON.stringify({items: [3, 1, 2]}))")
    assert tool.run("(await fs.readdir('/workspace')).join(',')") == "data.json"
    total = tool.run("import json\nsum(json.load(open('/workspace/data.json'))['items'])", language="python")
    assert total == "6", total
    tool.run("open('/tmp/note.txt', 'w').write('from python')", language="python")
    out = tool.run("cat /tmp/note.txt; echo; sed 's/[^0-9]/ /g' /workspace/data.json | wc -w", language="shell")
    assert out.split() == ["from", "python", "3"], out
    tool.run("echo shell > /workspace/out.txt", language="shell")
    assert tool.run("await fs.readFile('/workspace/out.txt', 'utf8')").strip() == "shell"
    # Another sandbox tool has a workspace of its own.
    other = create_sandbox_tool()
    assert other.run("await fs.exists('/workspace/data.json')") == "false"
    # A plain Sandbox keeps no files between runs unless asked.
    plain = Sandbox()
    assert plain.run("import os\nos.path.exists('/workspace')").value is False
    kept = Sandbox(workspace=True)
    kept.run("open('/workspace/a', 'w').write('x')")
    assert kept.run("fs.readFileSync('/workspace/a', 'utf8')", language="javascript").value == "x"
