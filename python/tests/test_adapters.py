"""The LangChain and smolagents adapters, against the real libraries from PyPI."""

import json

import pytest

from stockade import create_sandbox_tool


def get_weather(city: str) -> dict:
    """Today's weather in a city."""
    return {"city": city, "temp": 72}


def test_langchain_tool_invoked_as_an_agent_does():
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import BaseTool

    tool = create_sandbox_tool(tools=[get_weather], max_calls=3).as_langchain_tool()
    assert isinstance(tool, BaseTool) and tool.name == "sandbox"
    assert "get_weather({city})" in tool.description and "Today's weather" in tool.description
    assert set(tool.args) == {"code", "language"}

    text = tool.invoke({"code": "return await get_weather({city: 'SF'})", "language": "javascript"})
    assert json.loads(text) == {"city": "SF", "temp": 72}

    # What a tool-calling agent hands the tool: a ToolCall, answered by a ToolMessage.
    call = {
        "type": "tool_call",
        "id": "call_1",
        "name": "sandbox",
        "args": {"code": "w = get_weather(city='Oslo')\nprint(w['temp'])", "language": "python"},
    }
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call_1"
    assert message.content == "72"

    # An async agent awaits it: ainvoke runs the guest off its event loop.
    import asyncio

    text = asyncio.run(tool.ainvoke({"code": "return await get_weather({city: 'LA'})", "language": "javascript"}))
    assert json.loads(text) == {"city": "LA", "temp": 72}

    # A guest error is text for the model to read, not an exception in the agent.
    failed = tool.invoke({"code": "undefined_name", "language": "python"})
    assert "NameError" in failed
    # max_calls=3 spans the tool's life: three calls above, so this one is refused.
    budget = tool.invoke({"code": "get_weather(city='x')", "language": "python"})
    assert "ToolDenied" in budget and "this sandbox may make" in budget


def test_a_langchain_tool_offers_only_its_languages():
    from pydantic import ValidationError

    tool = create_sandbox_tool().as_langchain_tool()
    # The default tool is WebAssembly only: the model cannot pick the process jail.
    with pytest.raises(ValidationError):
        tool.invoke({"code": "id", "language": "sh"})
    assert '"sh"' not in tool.description

    jailed = create_sandbox_tool(languages=["sh", "python"]).as_langchain_tool()
    assert tool.invoke({"code": "6 * 7", "language": "python"}) == "42"
    assert jailed.invoke({"code": "echo from-the-jail"}) == "from-the-jail"
    assert '"sh"' in jailed.description and '"javascript"' not in jailed.description
    with pytest.raises(ValidationError):
        jailed.invoke({"code": "1", "language": "javascript"})


def test_smolagents_code_agent_runs_its_code_in_stockade():
    from smolagents import CodeAgent, tool
    from smolagents.models import ChatMessage, MessageRole, Model

    from stockade.adapters.smolagents import StockadeExecutor

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiplies two integers.

        Args:
            a: The first factor.
            b: The second factor.
        """
        calls.append((a, b))
        return a * b

    calls = []
    steps = [
        "Thought: first, the product.\n<code>\nimport os\nx = multiply(6, 7)\nprint('host env:', dict(os.environ).get('HOME'))\n</code>",
        "Thought: now the answer, from the kept variable.\n<code>\nfinal_answer(x + 1)\nprint('never')\n</code>",
    ]

    class Scripted(Model):
        def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
            return ChatMessage(role=MessageRole.ASSISTANT, content=steps.pop(0))

    executor = StockadeExecutor()
    agent = CodeAgent(tools=[multiply], model=Scripted(), executor=executor, max_steps=4)
    try:
        answer = agent.run("What is 6 times 7, plus one?")
    finally:
        agent.cleanup()
    assert answer == 43
    assert calls == [(6, 7)]
    assert steps == []
    observations = [getattr(step, "observations", None) or "" for step in agent.memory.steps]
    assert any("host env: /tmp/home" in text for text in observations), observations
    assert not any("never" in text for text in observations)


def test_smolagents_executor_reports_guest_errors_to_the_agent():
    from smolagents.local_python_executor import InterpreterError

    from stockade.adapters.smolagents import StockadeExecutor

    executor = StockadeExecutor({"limits": {"wall_ms": 300}})
    # CodeAgent sends the variables first, then the tools.
    executor.send_variables({"numbers": [1, 2, 3], "unsendable": object()})
    executor.send_tools({})
    assert executor("sum(numbers)").output == 6
    with pytest.raises(InterpreterError, match="ZeroDivisionError"):
        executor("1 / 0")
    assert executor("numbers[-1]").output == 3
    executor("kept = 5")
    with pytest.raises(InterpreterError, match="limits.wall_ms"):
        executor("while True: pass")
    # A limit ends the session; the next step gets a new one, with the
    # variables the agent sent but not the state earlier steps made.
    assert executor("sum(numbers)").output == 6
    with pytest.raises(InterpreterError, match="NameError"):
        executor("kept")
    executor.cleanup()


def test_a_dropped_executor_is_freed():
    import gc
    import weakref

    from stockade.adapters.smolagents import StockadeExecutor

    executor = StockadeExecutor()
    executor.send_tools({})
    ref = weakref.ref(executor)
    del executor
    gc.collect()
    assert ref() is None
