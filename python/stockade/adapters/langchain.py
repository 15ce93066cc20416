"""A LangChain tool that runs code in a stockade sandbox (``pip install stockade[langchain]``).

>>> from stockade import create_sandbox_tool
>>> tool = create_sandbox_tool(tools=[get_weather]).as_langchain_tool()
>>> tool.invoke({"code": "return await get_weather({city: 'SF'})", "language": "javascript"})
"""

from __future__ import annotations

import asyncio

from typing import TYPE_CHECKING, Any, Literal, Type

try:
    from langchain_core.tools import StructuredTool
    from pydantic import BaseModel, Field, create_model
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("the LangChain adapter needs langchain-core: pip install 'stockade[langchain]'") from error

if TYPE_CHECKING:
    from .._sandbox import SandboxTool

__all__ = ["CodeInput", "as_langchain_tool"]


class CodeInput(BaseModel):
    """The arguments a model gives the sandbox tool."""

    code: str = Field(description="The code to run. Print results, or end with an expression to return its value.")
    language: Literal["javascript", "python"] = Field(
        default="javascript", description='"javascript" (ES2023) or "python" (CPython with numpy and pandas).'
    )


def _input_for(languages: "tuple[str, ...]") -> Type[BaseModel]:
    """:class:`CodeInput` for the tool's own languages (the default ones: itself)."""
    if languages == ("javascript", "python"):
        return CodeInput
    return create_model(
        "CodeInput",
        __doc__=CodeInput.__doc__,
        code=(str, CodeInput.model_fields["code"]),
        language=(Literal[languages], Field(default=languages[0], description="One of: " + ", ".join(languages))),
    )


def as_langchain_tool(sandbox_tool: "SandboxTool", name: str = "sandbox") -> Any:
    """A ``StructuredTool`` (a LangChain ``BaseTool``) named ``name`` whose
    ``invoke`` runs the code in a fresh guest of ``sandbox_tool`` and returns
    the text for the model. Guest errors come back as that text, so the
    model can read and fix them; host errors raise. The model may pick only
    the sandbox tool's languages."""

    def run(code: str, language: str = sandbox_tool.languages[0]) -> str:
        return str(sandbox_tool.run(code, language))

    async def arun(code: str, language: str = sandbox_tool.languages[0]) -> str:
        # The guest runs on a worker thread (the GIL released): `ainvoke`
        # leaves the agent's event loop free meanwhile.
        return await asyncio.to_thread(run, code, language)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=sandbox_tool.description,
        args_schema=_input_for(sandbox_tool.languages),
    )
