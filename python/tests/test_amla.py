"""Amla side by side (issue 18): the same snippets, written from Amla's
documentation, run through ``amla_sandbox.create_sandbox_tool`` (from PyPI)
and through stockade's. Where the two agree, the test says so by comparing
them; where they differ, it asserts each one's behaviour and says which one
stockade chose, and why."""

import json

import amla_sandbox
import pytest

import stockade


def _tools(calls):
    def refund(amount: float) -> dict:
        """Refunds an amount."""
        calls.append(amount)
        return {"refunded": amount}

    def get_weather(city: str) -> dict:
        """Today's weather in a city."""
        return {"city": city, "temp": 72}

    return [refund, get_weather]


@pytest.fixture(scope="module")
def pair():
    """One sandbox tool of each, made alike, and the refunds each handler made."""
    ours, theirs = [], []
    options = dict(max_calls={"refund": 1}, constraints={"refund": {"amount": "<=100"}})
    mine = stockade.create_sandbox_tool(tools=_tools(ours), languages=["javascript", "shell", "python"], **options)
    amla = amla_sandbox.create_sandbox_tool(tools=_tools(theirs), **options)
    return mine, amla, ours, theirs


def both(pair, code, language="javascript"):
    mine, amla, _, _ = pair
    return str(mine.run(code, language=language)), amla.run(code, language=language)


def test_budgets_and_constraints_hold_over_the_tools_life_in_both(pair):
    _, _, ours, theirs = pair
    mine, amla = both(pair, "return await refund({amount: 500})")
    assert "ToolDenied" in mine and "1000" not in mine, mine
    assert "Constraint violation" in amla, amla
    for _ in range(2):
        mine, amla = both(pair, "return await refund({amount: 5})")
    # The second allowed-looking call is over max_calls in both: neither handler ran.
    assert ours == theirs == [5]
    assert "ToolDenied" in mine and "Call limit exceeded" in amla, (mine, amla)


def test_the_workspace_lasts_across_runs_and_languages_in_both(pair):
    both(pair, "await fs.writeFile('/workspace/data.json', JSON.stringify({items: [3, 1, 2]}))")
    mine, amla = both(pair, "return JSON.parse(await fs.readFile('/workspace/data.json', 'utf8')).items.length")
    assert mine.strip() == amla.strip() == "3"
    mine, amla = both(pair, "cat /workspace/data.json", language="shell")
    assert json.loads(mine) == json.loads(amla) == {"items": [3, 1, 2]}
    both(pair, "await fs.writeFile('/tmp/x', 'in tmp')")
    mine, amla = both(pair, "cat /tmp/x", language="shell")
    assert mine == amla == "in tmp"
    code = (
        "await fs.mkdir('/workspace/d'); await fs.writeFile('/workspace/d/f', 'x');"
        "return [(await fs.stat('/workspace/d/f')).size, await fs.readdir('/workspace/d'), await fs.exists('/nope')]"
    )
    mine, amla = both(pair, code)
    assert json.loads(mine) == json.loads(amla) == [1, ["f"], False]
    # stockade's workspace is Python's too; Amla runs no Python.
    assert pair[0].run("len(open('/workspace/d/f').read())", language="python") == "1"


def test_strings_are_printed_unquoted_and_other_values_as_json_in_both(pair):
    mine, amla = both(pair, "return 'hello'")
    assert mine == "hello" and amla == "hello\n"
    mine, amla = both(pair, "console.log('printed'); return {a: 1}")
    assert mine.splitlines()[0] == amla.splitlines()[0] == "printed"
    assert json.loads(mine.splitlines()[1]) == json.loads(amla.splitlines()[1]) == {"a": 1}
    # Differs: Amla ends its output with a newline; stockade gives the
    # output as it was, so that a returned string is exactly that string.


def test_shell_pipelines_and_the_tool_command_in_both(pair):
    mine, amla = both(pair, "echo hi | tr a-z A-Z; printf 'a\\nb\\n' | sort -r | wc -l", language="shell")
    assert mine.split() == amla.split() == ["HI", "2"]
    mine, amla = both(pair, "tool get_weather --city SF", language="shell")
    # Amla indents the JSON; stockade prints it on one line (for `jq` and
    # `grep` alike). The same value either way.
    assert json.loads(mine) == json.loads(amla) == {"city": "SF", "temp": 72}


def test_where_stockade_chose_otherwise(pair):
    mine, amla = both(pair, "6 * 7")
    # Amla shows only what `return` gives; stockade shows a last expression's
    # value too, as a REPL does, since models often end code with one.
    assert amla == "(no output)" and mine == "42"

    mine, amla = both(pair, "tool refund --amount 1; echo status=$?", language="shell")
    # A refused call: Amla's `tool` exits 0, so `tool x && next` runs `next`
    # after a denial; stockade's exits non-zero with the refusal on stderr.
    assert "status=0" in amla and "Call limit exceeded" in amla, amla
    assert "status=0" not in mine and "budget_exceeded" in mine, mine

    mine, amla = both(pair, "await fs.writeFile('/workspace/gone', 'x'); await fs.rm('/workspace/gone');"
                      " return await fs.exists('/workspace/gone')")
    # Node's `fs.rm` and `fs.unlink`: Amla has neither.
    assert mine == "false" and "not a function" in amla, (mine, amla)

    mine, amla = both(pair, "ls /workspace", language="shell")
    # Amla's workspace starts with a README for the model to read; stockade's
    # starts empty: nothing reaches the model that the developer did not put there.
    assert "README.md" in amla.split() and "README.md" not in mine.split(), (mine, amla)


def test_dotted_tool_names_work_in_stockade_and_not_in_amla():
    def listTransactions(customer: str) -> list:
        """A customer's transactions."""
        return [{"id": "t1", "customer": customer, "amount": 5}]

    listTransactions.__name__ = "stripe.listTransactions"
    mine = stockade.create_sandbox_tool(tools=[listTransactions], languages=["javascript", "python", "shell"])
    assert json.loads(mine.run("return await stripe.listTransactions({customer: 'c'})"))[0]["customer"] == "c"
    assert mine.run("stripe.listTransactions(customer='c')[0]['amount']", language="python") == "5"
    shell = mine.run("tool stripe.listTransactions --customer cus_123 | jq '.[0].customer'", language="shell")
    assert shell.strip() == '"cus_123"', shell
    amla = amla_sandbox.create_sandbox_tool(tools=[listTransactions])
    # Amla calls the tool `stripe:listTransactions` in its shell and finds no
    # capability for it; in JavaScript `stripe` is undefined.
    assert "No capability" in amla.run("tool stripe.listTransactions --customer c", language="shell")
    assert "not defined" in amla.run("return await stripe.listTransactions({customer: 'c'})", language="javascript")
