"""Amla's lower-level API on stockade: change ``from amla_sandbox import ...``
to ``from stockade.amla import ...`` and code written for it runs here.

    from stockade.amla import Sandbox, ToolDefinition, ToolCallCap, ConstraintSet, Param

    sandbox = Sandbox(
        tools=[ToolDefinition("issue_refund", "Refunds", {"type": "object",
               "properties": {"amount": {"type": "number"}}})],
        capabilities=[ToolCallCap(method_pattern="issue_refund",
                                  constraints=ConstraintSet([Param("amount") <= 1000]),
                                  max_calls=5)],
        tool_handler=lambda method, params: {"refunded": params["amount"]},
    )
    sandbox.execute("console.log(JSON.stringify(await issue_refund({amount: 10})))")
    sandbox.get_remaining_calls("cap:tool-call:issue_refund")  # 4

Each capability becomes the policy's rules for the tools its pattern
matches, so stockade's gate enforces them (the JSON Schema, the
constraints, the budget over the sandbox's life, the audit), and the
handler runs only for allowed calls. The sandbox keeps a workspace
(``/workspace`` and ``/tmp``) across its runs, as Amla's virtual
filesystem lasts, shared by :meth:`Sandbox.execute` (JavaScript) and
:meth:`Sandbox.shell` (a shell in the process jail).

What does not map, and why (each is refused with a ``ValueError`` that
says so, never silently widened):

- **A budget shared by several tools** (``ToolCallCap("stripe/**",
  max_calls=10)`` matching two tools). stockade budgets each tool; giving
  each tool the whole budget would grant more calls than the capability
  does.
- **A tool matched by two capabilities.** Amla allows a call when any of
  them does; stockade holds a tool to one set of rules, all of which must
  hold.
- **``Constraint.or_``**, for the same reason, except over ``==`` on one
  parameter, which is ``is_in``.
- **``exists`` and ``not_exists`` below the top level**: they become the
  tool's JSON Schema's ``required`` (and ``not``), which speaks of top-level
  parameters only.
- **PCA tokens** (``pca=``, ``trusted_authorities=``): stockade's policy is
  the grant; there is no token to verify. Passing one is an error.

Other differences: a capability without ``max_calls`` is held to stockade's
per-run default (100 calls per run) rather than unlimited; tools no
capability matches are not offered at all (Amla offers them and refuses
each call); tool names become JavaScript identifiers as Amla's do
(``stripe.listTransactions`` is ``stripe_listTransactions``), in every
language, while the handler sees the name as defined. :meth:`can_call` and
the call counts are computed here from the same rules; the gate, not this
module, decides.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from ._sandbox import Sandbox as _Sandbox
from ._tools import ToolSpec

__all__ = [
    "Constraint",
    "ConstraintSet",
    "MethodCapability",
    "Param",
    "Sandbox",
    "ToolCallCap",
    "ToolDefinition",
    "method_matches_pattern",
]


@dataclasses.dataclass
class Constraint:
    """One rule on one parameter (``param``, a ``/``-separated path), as
    Amla's: made with the class methods or with :class:`Param`."""

    type: str
    param: str = ""
    value: Any = None
    constraints: List["Constraint"] = dataclasses.field(default_factory=list)

    @classmethod
    def lt(cls, param: str, value: Any) -> "Constraint":
        return cls("lt", param, value)

    @classmethod
    def le(cls, param: str, value: Any) -> "Constraint":
        return cls("le", param, value)

    @classmethod
    def gt(cls, param: str, value: Any) -> "Constraint":
        return cls("gt", param, value)

    @classmethod
    def ge(cls, param: str, value: Any) -> "Constraint":
        return cls("ge", param, value)

    @classmethod
    def eq(cls, param: str, value: Any) -> "Constraint":
        return cls("eq", param, value)

    @classmethod
    def ne(cls, param: str, value: Any) -> "Constraint":
        return cls("ne", param, value)

    @classmethod
    def is_in(cls, param: str, values: List[Any]) -> "Constraint":
        return cls("in", param, list(values))

    @classmethod
    def not_in(cls, param: str, values: List[Any]) -> "Constraint":
        return cls("not_in", param, list(values))

    @classmethod
    def starts_with(cls, param: str, prefix: str) -> "Constraint":
        return cls("starts_with", param, prefix)

    @classmethod
    def ends_with(cls, param: str, suffix: str) -> "Constraint":
        return cls("ends_with", param, suffix)

    @classmethod
    def contains(cls, param: str, substring: str) -> "Constraint":
        return cls("contains", param, substring)

    @classmethod
    def exists(cls, param: str) -> "Constraint":
        return cls("exists", param)

    @classmethod
    def not_exists(cls, param: str) -> "Constraint":
        return cls("not_exists", param)

    @classmethod
    def and_(cls, constraints: List["Constraint"]) -> "Constraint":
        return cls("and", constraints=list(constraints))

    @classmethod
    def or_(cls, constraints: List["Constraint"]) -> "Constraint":
        return cls("or", constraints=list(constraints))

    def holds(self, params: Dict[str, Any]) -> bool:
        """Whether ``params`` satisfy this rule (what :meth:`Sandbox.can_call` asks)."""
        if self.type == "and":
            return all(c.holds(params) for c in self.constraints)
        if self.type == "or":
            return any(c.holds(params) for c in self.constraints)
        found, value = _lookup(params, self.param)
        if self.type == "exists":
            return found
        if self.type == "not_exists":
            return not found
        if not found:
            return False
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        text = isinstance(value, str)
        checks: Dict[str, Callable[[], bool]] = {
            "lt": lambda: number and value < self.value,
            "le": lambda: number and value <= self.value,
            "gt": lambda: number and value > self.value,
            "ge": lambda: number and value >= self.value,
            "eq": lambda: value == self.value,
            "ne": lambda: value != self.value,
            "in": lambda: value in self.value,
            "not_in": lambda: value not in self.value,
            "starts_with": lambda: text and value.startswith(self.value),
            "ends_with": lambda: text and value.endswith(self.value),
            "contains": lambda: text and self.value in value,
        }
        return bool(checks[self.type]())


class ConstraintSet:
    """Rules that must all hold."""

    def __init__(self, constraints: Optional[List[Constraint]] = None) -> None:
        self.constraints: List[Constraint] = list(constraints or [])

    def is_empty(self) -> bool:
        return not self.constraints

    def __len__(self) -> int:
        return len(self.constraints)

    def holds(self, params: Dict[str, Any]) -> bool:
        return all(constraint.holds(params) for constraint in self.constraints)


class Param:
    """``Param("amount") <= 1000`` is ``Constraint.le("amount", 1000)``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __lt__(self, value: Any) -> Constraint:
        return Constraint.lt(self.name, value)

    def __le__(self, value: Any) -> Constraint:
        return Constraint.le(self.name, value)

    def __gt__(self, value: Any) -> Constraint:
        return Constraint.gt(self.name, value)

    def __ge__(self, value: Any) -> Constraint:
        return Constraint.ge(self.name, value)

    def __eq__(self, value: Any) -> Constraint:  # type: ignore[override]
        return Constraint.eq(self.name, value)

    def __ne__(self, value: Any) -> Constraint:  # type: ignore[override]
        return Constraint.ne(self.name, value)

    __hash__ = None  # type: ignore[assignment]

    def is_in(self, values: List[Any]) -> Constraint:
        return Constraint.is_in(self.name, values)

    def not_in(self, values: List[Any]) -> Constraint:
        return Constraint.not_in(self.name, values)

    def starts_with(self, prefix: str) -> Constraint:
        return Constraint.starts_with(self.name, prefix)

    def ends_with(self, suffix: str) -> Constraint:
        return Constraint.ends_with(self.name, suffix)

    def contains(self, substring: str) -> Constraint:
        return Constraint.contains(self.name, substring)

    def exists(self) -> Constraint:
        return Constraint.exists(self.name)

    def not_exists(self) -> Constraint:
        return Constraint.not_exists(self.name)


@dataclasses.dataclass
class ToolDefinition:
    """A tool the guest may call: its name, description and JSON Schema."""

    name: str
    description: str = ""
    parameters: Dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclasses.dataclass
class ToolCallCap:
    """Leave to call the tools ``method_pattern`` matches (``*`` is one
    ``/``-separated segment, ``**`` any number), under ``constraints``,
    at most ``max_calls`` times over the sandbox's life."""

    method_pattern: str
    constraints: ConstraintSet = dataclasses.field(default_factory=ConstraintSet)
    max_calls: Optional[int] = None
    input_schema: Optional[Dict[str, Any]] = None

    def key(self) -> str:
        """``cap:tool-call:{pattern}``, as Amla names it."""
        return f"cap:tool-call:{self.method_pattern}"


#: The name the issue and Amla's docs also use for it.
MethodCapability = ToolCallCap


def method_matches_pattern(method: str, pattern: str) -> bool:
    """Whether ``method`` matches ``pattern``: segments split on ``/``,
    ``*`` one segment, ``**`` zero or more."""

    def match(parts: Sequence[str], glob: Sequence[str]) -> bool:
        if not glob:
            return not parts
        if glob[0] == "**":
            return any(match(parts[i:], glob[1:]) for i in range(len(parts) + 1))
        return bool(parts) and (glob[0] == "*" or glob[0] == parts[0]) and match(parts[1:], glob[1:])

    return match(method.split("/"), pattern.split("/"))


#: The prefix Amla's runtime gives the methods of registered tools: its
#: capabilities name `mcp:issue_refund` (or match it with `**`).
_MCP = "mcp:"


def _covers(capability: ToolCallCap, tool: str) -> bool:
    """Whether ``capability`` covers the tool ``tool``, by its name or by
    the name Amla's runtime calls it (``mcp:``-prefixed)."""
    pattern = capability.method_pattern
    return method_matches_pattern(tool, pattern) or method_matches_pattern(_MCP + tool, pattern)


def _identifier(name: str) -> str:
    """A tool's name as Amla's JavaScript calls it: ``.``, ``/``, ``-`` and
    ``:`` become ``_``."""
    return re.sub(r"[./:-]", "_", name)


def _lookup(params: Any, path: str) -> "tuple[bool, Any]":
    current = params
    for part in path.strip("/").split("/"):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


_TABLE_KEYS = {"lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "eq": "eq", "ne": "ne", "in": "in",
               "not_in": "not_in", "starts_with": "starts_with", "ends_with": "ends_with"}


def _flatten(constraints: Iterable[Constraint], where: str) -> List[Constraint]:
    out: List[Constraint] = []
    for constraint in constraints:
        if constraint.type == "and":
            out.extend(_flatten(constraint.constraints, where))
        elif constraint.type == "or":
            parts = constraint.constraints
            params = {part.param for part in parts}
            if parts and all(part.type == "eq" for part in parts) and len(params) == 1:
                out.append(Constraint.is_in(parts[0].param, [part.value for part in parts]))
            else:
                raise ValueError(
                    f"{where}: or_ does not map to stockade, whose rules on a tool must all hold "
                    "(an or_ of == on one parameter does: it is is_in)"
                )
        else:
            out.append(constraint)
    return out


def _rules(capability: ToolCallCap, schema: Dict[str, Any]) -> "tuple[Dict[str, Any], Dict[str, Any]]":
    """The policy's constraints table for ``capability``, and ``schema``
    with its ``exists`` and ``not_exists`` rules."""
    where = f"capability {capability.method_pattern!r}"
    tables: Dict[str, Dict[str, Any]] = {}
    schema = json.loads(json.dumps(schema))
    for constraint in _flatten(capability.constraints.constraints, where):
        path = constraint.param.strip("/").replace("/", ".")
        if constraint.type in ("exists", "not_exists"):
            if "." in path:
                raise ValueError(f"{where}: {constraint.type} on {constraint.param!r} does not map below the top level")
            if constraint.type == "exists":
                schema.setdefault("required", [])
                if path not in schema["required"]:
                    schema["required"].append(path)
            else:
                schema.setdefault("allOf", []).append({"not": {"required": [path]}})
            continue
        table = tables.setdefault(path, {})
        if constraint.type == "contains":
            key, value = "matches", re.escape(constraint.value)
        else:
            key, value = _TABLE_KEYS[constraint.type], constraint.value
        if key in table and table[key] != value:
            tighter = {"le": min, "lt": min, "ge": max, "gt": max}.get(key)
            if tighter is None:
                raise ValueError(f"{where}: two {key} rules on {constraint.param!r} do not map to one")
            value = tighter(table[key], value)
        table[key] = value
    return tables, schema


class Sandbox:
    """Amla's ``Sandbox``, run by stockade (see the module's docs)."""

    def __init__(
        self,
        tools: Sequence[ToolDefinition] = (),
        capabilities: Optional[Sequence[ToolCallCap]] = None,
        tool_handler: Optional[Callable[[str, Dict[str, Any]], Any]] = None,
        *,
        policy: Any = None,
        pca: bytes = b"",
        trusted_authorities: Sequence[str] = (),
    ) -> None:
        if pca or trusted_authorities:
            raise ValueError("PCA tokens do not map to stockade: its policy is the grant (policy=...)")
        # Amla's default, with no capabilities given: every tool, no limit.
        self._capabilities = list(capabilities) if capabilities is not None else [ToolCallCap("**")]
        self._handler = tool_handler
        self._calls: Dict[str, int] = {}
        self._lock = threading.Lock()
        self._by_tool: Dict[str, ToolCallCap] = {}
        self._last_stderr = ""
        specs: List[ToolSpec] = []
        constraints: Dict[str, Dict[str, Any]] = {}
        max_calls: Dict[str, int] = {}
        for definition in tools:
            matching = [c for c in self._capabilities if _covers(c, definition.name)]
            if not matching:
                continue
            if len(matching) > 1:
                patterns = ", ".join(repr(c.method_pattern) for c in matching)
                raise ValueError(
                    f"tool {definition.name!r} is matched by capabilities {patterns}; stockade holds a tool to "
                    "one set of rules, so give it one capability"
                )
            capability = matching[0]
            shared = [t.name for t in tools if _covers(capability, t.name)]
            if capability.max_calls is not None and len(shared) > 1:
                raise ValueError(
                    f"capability {capability.method_pattern!r} has max_calls={capability.max_calls} and matches "
                    f"{', '.join(shared)}; stockade budgets each tool, so give each its own capability"
                )
            name = _identifier(definition.name)
            tables, schema = _rules(capability, capability.input_schema or definition.parameters)
            specs.append(ToolSpec(name, definition.description, schema, self._caller(definition.name)))
            if tables:
                constraints[name] = tables
            if capability.max_calls is not None:
                max_calls[name] = capability.max_calls
            self._by_tool[definition.name] = capability
        self._sandbox = _Sandbox(
            policy,
            specs,
            constraints=constraints,
            max_calls=max_calls,
            budget="lifetime",
            workspace=True,
        )

    def _caller(self, method: str) -> Callable[..., Any]:
        def call(**params: Any) -> Any:
            # The gate let this call through: it counts against the budget.
            with self._lock:
                self._calls[method] = self._calls.get(method, 0) + 1
            if self._handler is None:
                raise RuntimeError(f"no tool_handler for the call of {method}")
            return self._handler(method, params)

        return call

    def execute(self, code: str, on_output: Optional[Callable[[str], None]] = None, stdin: Any = None) -> str:
        """Runs JavaScript ``code`` and returns its output, as Amla's does."""
        if stdin is not None:
            raise ValueError("stdin does not map to a JavaScript run; use shell(command, stdin=...)")
        result = self._sandbox.run(code, "javascript", on_stdout=on_output)
        self._last_stderr = result.stderr
        return str(result)

    def shell(self, command: str, stdin: Optional[Any] = None) -> str:
        """Runs ``command`` in a POSIX shell in the process jail, over the same workspace."""
        if stdin is not None:
            data = stdin.decode() if isinstance(stdin, bytes) else str(stdin)
            # A here-document, ended by a word the data cannot hold (the
            # data may come from a model: a line of it must not end the
            # document early and run as commands).
            end = "STOCKADE_STDIN_" + secrets.token_hex(8)
            while end in data:
                end = "STOCKADE_STDIN_" + secrets.token_hex(8)
            body = data if data.endswith("\n") or not data else data + "\n"
            command = f"{command} <<'{end}'\n{body}{end}\n"
        result = self._sandbox.run(command, "sh")
        self._last_stderr = result.stderr
        return str(result)

    def can_call(self, method: str, params: Optional[Dict[str, Any]] = None) -> bool:
        """Whether a call of ``method`` with ``params`` would be allowed now."""
        method = method.removeprefix(_MCP)
        capability = self._by_tool.get(method)
        if capability is None:
            return False
        if capability.max_calls is not None and self._calls.get(method, 0) >= capability.max_calls:
            return False
        return params is None or capability.constraints.holds(params)

    @property
    def last_stderr(self) -> str:
        """What the last run wrote on stderr."""
        return self._last_stderr

    def get_capabilities(self) -> List[ToolCallCap]:
        return list(self._capabilities)

    def get_remaining_calls(self, capability_key: str) -> Optional[int]:
        """Calls left under the capability with this key; ``None`` when it
        has no limit or no such capability exists."""
        for method, capability in self._by_tool.items():
            if capability.key() == capability_key and capability.max_calls is not None:
                return max(0, capability.max_calls - self._calls.get(method, 0))
        return None

    def get_call_counts(self) -> Dict[str, int]:
        """Calls left, by capability key, for each capability with a limit."""
        return {
            capability.key(): max(0, capability.max_calls - self._calls.get(method, 0))
            for method, capability in self._by_tool.items()
            if capability.max_calls is not None
        }

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sandbox.destroy()
