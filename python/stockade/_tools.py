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
import logging
import re
import threading
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["ToolError", "ToolSpec", "tool_spec", "json_schema_for"]

_NONE_TYPE = type(None)

_log = logging.getLogger("stockade")


class ToolError(Exception):
    """Raise it from a tool to fail the call with a message meant for the guest.

    The guest's call raises its own ``ToolError`` with exactly this message.
    A tool's errors about its input (``ValueError``, ``TypeError``,
    ``LookupError``, ``ArithmeticError``, ``NotImplementedError``) reach the
    guest as ``Type: message``. Any other exception (an ``OSError``, an HTTP
    client's error...) reaches it as its type alone: such messages carry host
    paths, addresses and credentials, and the guest's code is not trusted
    with them. Its message and traceback go to the ``stockade`` logger.
    """


#: What a tool may tell the guest in its own words.
_SHOWN = (ToolError, ValueError, TypeError, LookupError, ArithmeticError, NotImplementedError)


class ToolSpec:
    """A tool as the sandbox registers it."""

    __slots__ = ("name", "description", "schema", "function", "converters")

    def __init__(
        self,
        name: str,
        description: str,
        schema: dict,
        function: Callable[..., Any],
        converters: Optional[Dict[str, Callable[[Any], Any]]] = None,
    ) -> None:
        self.name = name
        self.description = description
        self.schema = schema
        self.function = function
        #: Per parameter, what turns its JSON value into the declared type
        #: (an enum member, a dataclass, a pydantic model, a tuple...).
        self.converters = converters or {}

    def native(self) -> Tuple[str, str, str, Callable[[str], str]]:
        """The tuple `NativeSandbox` takes."""
        return (self.name, self.description, json.dumps(self.schema), self._call)

    def _call(self, arguments: str) -> str:
        # The host has checked the arguments against `schema` and the
        # policy before this runs.
        values = json.loads(arguments)
        try:
            for name, convert in self.converters.items():
                if name in values:
                    values[name] = convert(values[name])
            result = self.function(**values)
            if inspect.isawaitable(result):
                result = _wait(result)
        except _SHOWN:
            raise
        except Exception as error:
            kind = type(error).__name__
            _log.warning("tool %s raised %s; the guest sees only its type", self.name, kind, exc_info=True)
            raise ToolError("%s (the tool failed; its message stays on the host)" % kind) from None
        return json.dumps(result, default=_jsonable, ensure_ascii=False)


def tool_spec(function: Callable[..., Any]) -> ToolSpec:
    """The tool for ``function``: its ``__name__``, the first paragraph of its
    docstring, and a schema with one property per parameter."""
    if isinstance(function, ToolSpec):
        return function
    if not callable(function):
        raise TypeError(f"a tool must be a function, not {type(function).__name__}")
    name = getattr(function, "__name__", None)
    # A dotted name (`stripe.list_charges`) is a function in a namespace:
    # `stripe.list_charges(...)` in the guest, `tool stripe.list_charges` in a shell.
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
        raise ValueError(f"a tool needs a name that is an identifier or a dotted path of them; {function!r} has {name!r}")
    summary, arg_docs = _parse_docstring(inspect.getdoc(function) or "")
    hints = _hints(function)
    converters = {}
    for parameter, hint in hints.items():
        convert = _converter_for(hint)
        if convert is not None:
            converters[parameter] = convert
    return ToolSpec(name, summary, _schema_for_signature(function, arg_docs, hints), function, converters)


def _hints(function: Callable[..., Any]) -> Dict[str, Any]:
    """The parameters' type hints. Where one cannot be resolved (a forward
    reference to a name that does not exist), the others still count."""
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.annotation for p in parameters if p.annotation is not p.empty and not isinstance(p.annotation, str)}


def _converter_for(hint: Any) -> Optional[Callable[[Any], Any]]:
    """What turns a JSON value into a value of ``hint``, or None when the
    JSON value already is one (strings, numbers, plain lists and dicts)."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin is typing.Annotated:
        return _converter_for(arguments[0])
    if origin is typing.Union or _is_union_type(origin):
        options = [argument for argument in arguments if argument is not _NONE_TYPE]
        inner = _converter_for(options[0]) if len(options) == 1 else None
        if inner is None:
            return None
        return lambda value: None if value is None else inner(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        fields = _hints_of(hint)
        inner = {name: convert for name, convert in ((n, _converter_for(t)) for n, t in fields.items()) if convert}
        return lambda value: hint(**{k: inner[k](v) if k in inner else v for k, v in value.items()})
    model_validate = getattr(hint, "model_validate", None)
    if callable(model_validate):  # a pydantic model
        return model_validate
    if origin in (list, set, frozenset, tuple) or hint in (tuple, set, frozenset):
        kind = origin or hint
        if kind is tuple and arguments and arguments[-1] is not Ellipsis:
            items = [_converter_for(argument) for argument in arguments]
            return lambda value: tuple(convert(v) if convert else v for convert, v in zip(items, value))
        item = _converter_for(arguments[0]) if arguments else None
        if item is None and kind is list:
            return None
        return lambda value: kind(item(v) if item else v for v in value)
    if origin is dict and len(arguments) == 2:
        item = _converter_for(arguments[1])
        if item is not None:
            return lambda value: {k: item(v) for k, v in value.items()}
    return None


def _hints_of(kind: type) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(kind)
    except Exception:
        return {}


def _schema_for_signature(function: Callable[..., Any], arg_docs: Dict[str, str], hints: Dict[str, Any]) -> dict:
    signature = inspect.signature(function)
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
    # A pydantic model's nested models are `$defs` referred to as
    # `#/$defs/Name` from the model's own root; here that root is the
    # tool's schema, so they move up to it.
    definitions: Dict[str, Any] = {}
    _hoist_definitions(properties, definitions, function.__name__)
    if definitions:
        schema["$defs"] = definitions
    return schema


def _hoist_definitions(node: Any, definitions: Dict[str, Any], tool: str) -> None:
    """Moves every `$defs` under ``node`` into ``definitions``; two
    different definitions of one name are an error, not a silent pick."""
    if isinstance(node, list):
        for item in node:
            _hoist_definitions(item, definitions, tool)
        return
    if not isinstance(node, dict):
        return
    for name, definition in (node.pop("$defs", None) or {}).items():
        _hoist_definitions(definition, definitions, tool)
        if definitions.setdefault(name, definition) != definition:
            raise ValueError(f"tool {tool}: two different types are both named {name!r} in its schema")
    for value in node.values():
        _hoist_definitions(value, definitions, tool)


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
        for note in arguments[1:]:
            # pydantic's Field(...) and annotated-types' bounds: the host
            # enforces them before the tool runs.
            described = getattr(note, "description", None)
            if isinstance(described, str):
                notes.append(described)
            for bound in [note, *(getattr(note, "metadata", None) or [])]:
                _add_bounds(schema, bound)
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


#: annotated-types' (and pydantic's) bound attributes, as JSON Schema keys.
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _add_bounds(schema: Dict[str, Any], bound: Any) -> None:
    for attribute, key in _BOUNDS.items():
        value = getattr(bound, attribute, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            schema[key] = value
    for attribute, suffix in (("min_length", "min"), ("max_length", "max")):
        value = getattr(bound, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool):
            key = f"{suffix}Items" if schema.get("type") == "array" else f"{suffix}Length"
            schema[key] = value


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


#: The event loop of an ``AsyncSandbox`` caller, on the worker thread
#: that runs its guest: coroutine tools run there.
caller_loop = threading.local()


def _wait(awaitable: Any) -> Any:
    """The result of a coroutine tool: on the loop of the ``AsyncSandbox``
    caller that started the run, when there is one; else on a loop of its
    own, since the calling thread may be running one, which must not be
    re-entered."""
    loop = getattr(caller_loop, "loop", None)
    if loop is not None:
        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop).result()
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
