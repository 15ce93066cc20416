"""Python functions as guest tools: a name, a description and a JSON Schema
read from the function's signature, type hints and docstring, and a call that
speaks JSON text with the native module."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import inspect
import json
import re
import threading
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["ToolSpec", "tool_spec", "json_schema_for"]

_NONE_TYPE = type(None)


class ToolSpec:
    """A tool as the sandbox registers it."""

    __slots__ = ("name", "description", "schema", "function")

    def __init__(self, name: str, description: str, schema: dict, function: Callable[..., Any]) -> None:
        self.name = name
        self.description = description
        self.schema = schema
        self.function = function

    def native(self) -> Tuple[str, str, str, Callable[[str], str]]:
        """The tuple `NativeSandbox` takes."""
        return (self.name, self.description, json.dumps(self.schema), self._call)

    def _call(self, arguments: str) -> str:
        # The host has checked the arguments against `schema` and the
        # policy before this runs.
        result = self.function(**json.loads(arguments))
        if inspect.isawaitable(result):
            result = _wait(result)
        return json.dumps(result, default=_jsonable, ensure_ascii=False)


def tool_spec(function: Callable[..., Any]) -> ToolSpec:
    """The tool for ``function``: its ``__name__``, the first paragraph of its
    docstring, and a schema with one property per parameter."""
    if isinstance(function, ToolSpec):
        return function
    if not callable(function):
        raise TypeError(f"a tool must be a function, not {type(function).__name__}")
    name = getattr(function, "__name__", None)
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"a tool needs a name that is an identifier; {function!r} has {name!r}")
    summary, arg_docs = _parse_docstring(inspect.getdoc(function) or "")
    return ToolSpec(name, summary, _schema_for_signature(function, arg_docs), function)


def _schema_for_signature(function: Callable[..., Any], arg_docs: Dict[str, str]) -> dict:
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to no types
        hints = {}
    properties: Dict[str, Any] = {}
    required: List[str] = []
    open_ended = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ValueError(
                f"tool {function.__name__}: parameter {parameter.name!r} is positional-only; "
                "tools are called with named arguments"
            )
        schema = json_schema_for(hints.get(parameter.name, Any))
        if parameter.name in arg_docs and "description" not in schema:
            schema["description"] = arg_docs[parameter.name]
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        else:
            try:
                schema["default"] = json.loads(json.dumps(parameter.default, default=_jsonable, allow_nan=False))
            except (TypeError, ValueError):
                pass
        properties[parameter.name] = schema
    schema = {"type": "object", "properties": properties, "additionalProperties": open_ended}
    # The guest maps positional arguments by this order (JSON objects keep none).
    schema["x-stockade-order"] = list(properties)
    if required:
        schema["required"] = required
    return schema


def json_schema_for(hint: Any) -> dict:
    """The JSON Schema of values of the Python type ``hint``."""
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if hint is _NONE_TYPE or hint is None:
        return {"type": "null"}
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin is typing.Annotated:
        schema = json_schema_for(arguments[0])
        notes = [note for note in arguments[1:] if isinstance(note, str)]
        if notes:
            schema["description"] = " ".join(notes)
        return schema
    if origin is typing.Union or _is_union_type(origin):
        options = [json_schema_for(argument) for argument in arguments]
        return {"anyOf": options}
    if origin is typing.Literal:
        return {"enum": list(arguments)}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [member.value for member in hint]}
    if origin in (list, set, frozenset, tuple) or hint in (list, set, frozenset, tuple):
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:
            items = [json_schema_for(argument) for argument in arguments]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        schema: Dict[str, Any] = {"type": "array"}
        if arguments:
            schema["items"] = json_schema_for(arguments[0])
        return schema
    if origin is dict or hint is dict:
        schema = {"type": "object"}
        if len(arguments) == 2:
            schema["additionalProperties"] = json_schema_for(arguments[1])
        return schema
    if _is_typed_dict(hint):
        fields = typing.get_type_hints(hint)
        required = sorted(getattr(hint, "__required_keys__", fields))
        return {
            "type": "object",
            "properties": {field: json_schema_for(kind) for field, kind in fields.items()},
            "required": required,
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        fields = typing.get_type_hints(hint)
        return {
            "type": "object",
            "properties": {field.name: json_schema_for(fields.get(field.name, Any)) for field in dataclasses.fields(hint)},
            "required": [
                field.name
                for field in dataclasses.fields(hint)
                if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            ],
        }
    model_schema = getattr(hint, "model_json_schema", None)
    if callable(model_schema):  # a pydantic model
        return model_schema()
    return {}


def _is_union_type(origin: Any) -> bool:
    union_type = getattr(__import__("types"), "UnionType", None)
    return union_type is not None and origin is union_type


def _is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__annotations__") and hasattr(hint, "__total__")


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Notes?):\s*$")


def _parse_docstring(doc: str) -> Tuple[str, Dict[str, str]]:
    """The docstring's first paragraph, and the parameter descriptions of a
    Google-style ``Args:`` section (``name (type): text``, continued on
    deeper-indented lines)."""
    lines = doc.splitlines()
    summary: List[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()):
            break
        summary.append(line.strip())
    arg_docs: Dict[str, str] = {}
    in_args = False
    entry_indent: Optional[int] = None
    current: Optional[str] = None
    for line in lines:
        header = _SECTION.match(line.strip())
        if header:
            in_args = header.group(1) in ("Args", "Arguments", "Parameters", "Params")
            entry_indent, current = None, None
            continue
        if not in_args or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        entry = _ENTRY.match(line.strip())
        if entry and (entry_indent is None or indent <= entry_indent):
            entry_indent = indent
            current = entry.group(1).lstrip("*")
            arg_docs[current] = entry.group(2).strip()
        elif current is not None:
            arg_docs[current] = (arg_docs[current] + " " + line.strip()).strip()
    return " ".join(summary), arg_docs


_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _jsonable(value: Any) -> Any:
    """A JSON-ready form of values `json` does not know."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"a {type(value).__name__} is not JSON data")


def _wait(awaitable: Any) -> Any:
    """The result of a coroutine tool, on a loop of its own: the caller's
    thread may be running an event loop, which must not be re-entered."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(awaitable))
    box: Dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(_as_coroutine(awaitable))
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    worker = threading.Thread(target=work, name="stockade-tool")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable
