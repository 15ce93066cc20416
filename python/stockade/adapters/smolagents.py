"""A smolagents executor that runs a ``CodeAgent``'s code in a stockade
session instead of the agent's process (``pip install stockade[smolagents]``).

>>> from smolagents import CodeAgent
>>> from stockade.adapters.smolagents import StockadeExecutor
>>> agent = CodeAgent(tools=[...], model=model, executor=StockadeExecutor())

The agent's tools stay in the agent's process: the guest calls them through
stockade's tool door, under the policy (schema, constraints, budgets).
``final_answer`` ends the code where it is called, as in smolagents' own
executors.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Mapping, Optional, Union

try:
    from smolagents.local_python_executor import CodeOutput, InterpreterError, PythonExecutor
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("the smolagents adapter needs smolagents: pip install 'stockade[smolagents]'") from error

from .._sandbox import PolicyLike, Sandbox, Session
from .._tools import ToolSpec

__all__ = ["StockadeExecutor"]

_log = logging.getLogger(__name__)

_JSON_TYPES = {
    "string": "string",
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "array": "array",
    "object": "object",
    "null": "null",
}

# The guest's final_answer: hand the answer to the host, then stop the code
# with an exception that `except Exception` does not catch.
_FINAL_ANSWER = '''
class FinalAnswerException(BaseException):
    pass

def final_answer(answer):
    import json as _json
    try:
        _json.dumps(answer)
    except (TypeError, ValueError):
        answer = str(answer)
    _stockade_final_answer(answer=answer)
    raise FinalAnswerException()
'''


class StockadeExecutor(PythonExecutor):
    """Runs each code action in one stockade Python session, so variables
    persist between steps as with smolagents' local executor.

    ``policy`` is as for :class:`stockade.Sandbox`; each step is held to its
    per-run limits. Tools and variables arrive from the agent
    (``send_tools``, ``send_variables``); variables that are not JSON data
    are not sent.
    """

    def __init__(self, policy: PolicyLike = None, **_ignored: Any) -> None:
        self._policy = policy
        self._session: Optional[Session] = None
        self._tools: Dict[str, Any] = {}
        self._variables: Dict[str, Any] = {}
        # The final answer lands here; the tool holds this dict, not the
        # executor, so that no reference cycle keeps a dropped executor alive.
        self._final: Dict[str, Any] = {}
        self.state: Dict[str, Any] = {}

    def send_tools(self, tools: Mapping[str, Any]) -> None:
        """Takes the agent's tools (host tools in the guest); the session
        opens with them (again, if they changed)."""
        if dict(tools) != self._tools or self._session is None:
            self._tools = dict(tools)
            self._open()

    def send_variables(self, variables: Mapping[str, Any]) -> None:
        """Defines the JSON-ready ``variables`` in the guest (now, and again
        whenever the session has to be opened anew)."""
        for name, value in variables.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                _log.warning("stockade: variable %r is not JSON data and was not sent to the sandbox", name)
                continue
            self._variables[name] = value
        if self._session is not None:
            self._define(self._session, {k: v for k, v in variables.items() if k in self._variables})

    def __call__(self, code_action: str) -> CodeOutput:
        self._final.pop("answer", None)
        session = self._live()
        result = session.run(code_action)
        if session.closed_because is not None:
            # A limit stopped the guest mid-step: the next step starts in a
            # new session, with the tools and variables, but not this one's state.
            self.cleanup()
        if "answer" in self._final:
            return CodeOutput(output=self._final.pop("answer"), logs=result.stdout, is_final_answer=True)
        if result.status == "guest_error" and result.error is not None:
            trace = result.error.traceback or f"{result.error.type}: {result.error.message}"
            raise InterpreterError(f"{result.stdout}\nCode execution failed:\n{trace}")
        if not result.ok:
            note = " The sandbox was reset: variables defined in earlier steps are gone." if self._session is None else ""
            raise InterpreterError(f"{result.stdout}\n{result}{note}")
        return CodeOutput(output=result.value, logs=result.stdout, is_final_answer=False)

    def cleanup(self) -> None:
        """Closes the session."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _live(self) -> Session:
        if self._session is None:
            self._open()
        assert self._session is not None
        return self._session

    def _open(self) -> None:
        self.cleanup()
        specs = [_tool_spec(name, tool) for name, tool in self._tools.items() if name != "final_answer"]
        final, box = self._tools.get("final_answer"), self._final

        def _stockade_final_answer(answer: Any) -> bool:
            box["answer"] = final(answer) if final is not None else answer
            return True

        sandbox = Sandbox(self._policy, [*specs, _stockade_final_answer])
        session = sandbox.session("python")
        sandbox.destroy()
        setup = session.run(_FINAL_ANSWER)
        if not setup.ok:
            session.close()
            raise InterpreterError(f"stockade could not set up final_answer: {setup}")
        self._session = session
        self._define(session, self._variables)

    @staticmethod
    def _define(session: Session, variables: Mapping[str, Any]) -> None:
        if not variables:
            return
        payload = json.dumps(json.dumps(dict(variables)))
        result = session.run(f"import json as _json\nglobals().update(_json.loads({payload}))")
        if not result.ok:
            raise InterpreterError(f"stockade could not send the variables: {result}")


def _tool_spec(name: str, tool: Any) -> ToolSpec:
    """A smolagents tool (or managed agent) as a stockade tool."""
    properties: Dict[str, Any] = {}
    required = []
    for argument, described in (getattr(tool, "inputs", None) or {}).items():
        schema: Dict[str, Any] = {}
        kind: Union[str, list, None] = described.get("type")
        if isinstance(kind, str) and kind in _JSON_TYPES:
            schema["type"] = _JSON_TYPES[kind]
        if described.get("description"):
            schema["description"] = described["description"]
        if described.get("nullable"):
            schema = {"anyOf": [schema, {"type": "null"}]}
        else:
            required.append(argument)
        properties[argument] = schema
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    def call(**arguments: Any) -> Any:
        return tool(**arguments)

    return ToolSpec(name, str(getattr(tool, "description", "")), schema, call)
