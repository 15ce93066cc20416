"""The sandbox, its sessions, and Amla's ``create_sandbox_tool``."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native
from ._commands import Command
from ._result import Result
from ._stream import Streamed, run_streamed
from ._tools import ToolSpec, tool_spec

__all__ = ["Sandbox", "Session", "SessionFiles", "SandboxTool", "ToolOutput", "create_sandbox_tool"]

PolicyLike = Union[Mapping[str, Any], str, "os.PathLike[str]", None]

def _language(name: str) -> str:
    """The canonical name of the language ``name`` names (``py`` is ``python``).

    Raises ``ValueError`` naming every language stockade knows: the names
    are stockade's own, the same on every surface."""
    return _native.canonical_language(name)


#: The name a sandbox tool shows a model for a language, by canonical name.
_TOOL_NAMES = {"js": "javascript"}


class Sandbox:
    """Runs untrusted code apart from your process, under one policy.

    ``policy`` is a dict (the policy document's structure), the path of a
    TOML or JSON policy file, or ``None`` for the deny-all default: no
    files, no network, no environment, 30 s of wall time, 256 MiB of memory,
    1 MiB of output per stream.

    ``tools`` are Python functions the guest may call (``await f({...})``
    in JavaScript, ``f(...)`` in Python). Each one's JSON Schema comes from
    its type hints, its description from its docstring. A tool passed here
    is granted with the default budget (100 calls per run) unless the policy
    has its own ``tools.NAME`` entry; ``constraints`` and ``max_calls``
    (Amla's forms) add rules for tools the policy does not list.
    ``max_calls`` counts per run with ``budget="run"`` (the default), or
    over every run and session of this sandbox with ``budget="lifetime"``
    (what :func:`create_sandbox_tool` gives, as Amla counts).
    With ``workspace=True`` every run and session shares one ``/workspace``
    and ``/tmp``, whatever its language, held together to the policy's
    ``files.tmp_bytes`` (64 MiB when it sets none) for the sandbox's life;
    without it, each run has a fresh ``/tmp`` of its own, or none.

    Every :meth:`run` starts a fresh guest; :meth:`session` keeps one. The
    GIL is released while a guest runs, so threads run in parallel, and
    Ctrl-C stops the guest and raises ``KeyboardInterrupt``.
    """

    def __init__(
        self,
        policy: PolicyLike = None,
        tools: Iterable[Callable[..., Any]] = (),
        *,
        constraints: Optional[Mapping[str, Mapping[str, Any]]] = None,
        max_calls: Union[int, Mapping[str, int], None] = None,
        budget: str = "run",
        workspace: bool = False,
    ) -> None:
        if budget not in ("run", "lifetime"):
            raise ValueError(f'budget must be "run" or "lifetime", not {budget!r}')
        specs = [tool_spec(function) for function in tools]
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two tools are named {duplicates[0]!r}")
        lifetime = budget == "lifetime"
        grants = _grants(names, constraints, max_calls, "max_calls_per_session" if lifetime else "max_calls")
        self._tools: List[ToolSpec] = specs
        self._native = _native.NativeSandbox(
            _policy_text(policy),
            [spec.native() for spec in specs],
            json.dumps(grants),
            from_dict=isinstance(policy, Mapping),
            one_budget=lifetime,
            workspace=bool(workspace),
        )

    @property
    def languages(self) -> "tuple[str, ...]":
        """The languages this sandbox runs, by canonical name: the policy's
        ``languages``, or every one stockade knows when it lists none."""
        return tuple(self._native.languages)

    def run(
        self,
        code: str,
        language: str = "python",
        *,
        timeout: Optional[float] = None,
        env: Optional[Mapping[str, str]] = None,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """Runs ``code`` in a fresh guest: nothing carries over between runs.

        ``language`` is ``"python"`` or ``"javascript"`` (WebAssembly guests),
        or ``"sh"``, ``"bash"``, ``"python-native"`` or ``"node-native"``
        (the host's programs, in stockade's Linux process jail). ``timeout``
        (seconds) may lower the policy's wall time for this run, never raise
        it; ``env`` sets, for this run, variables the policy's ``[env]``
        names (any other name raises :class:`CodeRefused`).

        ``on_stdout`` and ``on_stderr`` are called with the output's text as
        the guest writes it (within the policy's caps, which still apply);
        the :class:`Result` holds all of it too. One that raises stops the
        run, and ``run`` raises that exception.

        Guest failures (an uncaught error, a limit) come back in the
        :class:`Result`; only host failures raise :class:`StockadeError`.
        """
        native_env = None if env is None else {str(k): str(v) for k, v in env.items()}
        language, code = _language(language), _code(code)
        return Result(
            run_streamed(
                lambda on_output: self._native.run(language, code, timeout, native_env, on_output),
                on_stdout,
                on_stderr,
            )
        )

    def stream(self, code: str, language: str = "python", **options: Any) -> Streamed:
        """Runs ``code`` as :meth:`run` does (with its ``timeout`` and
        ``env``), as an iterator of :class:`Chunk` ``(stream, text)`` pairs
        while the guest writes them; the iterator's ``result`` is the
        :class:`Result` once it is exhausted::

            chunks = sandbox.stream("for i in range(3): print(i)")
            for chunk in chunks:
                print(chunk.stream, chunk.text, end="")
            print(chunks.result.ok)
        """
        return Streamed(lambda **callbacks: self.run(code, language, **options, **callbacks))

    def run_code(self, code: str, language: str = "python") -> Result:
        """The same as :meth:`run`."""
        return self.run(code, language)

    def session(self, language: str = "python") -> "Session":
        """Opens a session: one guest that keeps its globals between runs."""
        return Session(self._native.session(_language(language)))

    def prepare(self, language: str = "python") -> None:
        """Compiles the guest for ``language`` now (once per machine, cached),
        so the first run does not wait for it."""
        self._native.prepare(_language(language))

    @property
    def tools(self) -> List[ToolSpec]:
        """The tools registered with this sandbox."""
        return list(self._tools)

    @property
    def policy_toml(self) -> str:
        """The policy in force, as TOML."""
        return self._native.policy_toml()

    def destroy(self) -> None:
        """Drops the sandbox; further runs raise. Open sessions go on until closed."""
        self._native.destroy()

    close = destroy

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()


class Session:
    """One guest whose globals, imports and heap persist between runs.

    Each run is held to the policy's per-run limits; ``[session]`` bounds
    the whole (idle timeout, lifetime, totals). A run stopped mid-way (wall
    time, fuel, Ctrl-C) ends the session, and later runs raise
    :class:`SessionEnded`. Use it as a context manager to close it.
    """

    def __init__(self, native: "_native.NativeSession") -> None:
        self._native = native

    def run(
        self,
        code: str,
        *,
        on_stdout: Optional[Callable[[str], Any]] = None,
        on_stderr: Optional[Callable[[str], Any]] = None,
    ) -> Result:
        """Runs ``code`` in the session's guest; the last expression's value
        comes back. ``on_stdout`` and ``on_stderr`` are as for
        :meth:`Sandbox.run`."""
        code = _code(code)
        return Result(run_streamed(lambda on_output: self._native.run(code, on_output), on_stdout, on_stderr))

    def stream(self, code: str) -> Streamed:
        """:meth:`run` as an iterator of :class:`Chunk` objects, as
        :meth:`Sandbox.stream` gives them."""
        return Streamed(lambda **callbacks: self.run(code, **callbacks))

    def close(self) -> None:
        """Closes the session, stopping a run in progress. Closing twice is harmless."""
        self._native.close()

    @property
    def id(self) -> str:
        """The session's id, as the audit log names it."""
        return self._native.id

    @property
    def language(self) -> str:
        """``"python"`` or ``"js"``."""
        return self._native.language

    @property
    def closed_because(self) -> Optional[str]:
        """Why the session ended, once it has."""
        return self._native.closed_because

    @property
    def files(self) -> "SessionFiles":
        """The session's files: its guest's ``/tmp``, to put files into and
        take results out of between runs."""
        return SessionFiles(self._native)

    def spawn(self, command: str) -> Command:
        """Starts ``command`` in the background of a shell session (``sh`` or
        ``bash``): it runs on between runs, and :class:`Command` reads its
        output, writes its stdin, waits for it and signals it."""
        return Command(self._native.spawn(_code(command)))

    def commands(self) -> List[Command]:
        """The background commands the session has started, in order."""
        return [Command(native) for native in self._native.commands()]

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SessionFiles:
    """A session's files, under its guest's ``/tmp`` (paths as the guest
    sees them, ``/tmp/data.csv``, or relative to it, ``data.csv``).

    Bodies stream: ``write`` takes bytes, str or a binary file object, and
    ``read`` can stream ``into`` one; neither holds a big file whole. A path
    that climbs out (``..``), a symlink or FIFO the guest left, or a write
    past ``files.tmp_bytes`` raises :class:`SessionFileError` (a missing
    file, ``FileNotFoundError``), and a failed write leaves nothing behind.
    Every transfer is in the audit log with its size and BLAKE3 digest.
    """

    def __init__(self, native: "_native.NativeSession") -> None:
        self._native = native

    def write(self, path: str, data: Union[bytes, str, Any]) -> Dict[str, Any]:
        """Writes ``data`` to ``path``, making its folders; returns
        ``{"path", "bytes", "blake3"}``."""
        if isinstance(data, str):
            data = data.encode()
        return self._native.write_file(path, data)

    def read(self, path: str, into: Any = None) -> Any:
        """The file's bytes; or, with ``into`` (a binary file object), the
        file streamed into it and ``{"path", "bytes", "blake3"}``."""
        return self._native.read_file(path, into)

    def list(self, path: str = "") -> List[Dict[str, Any]]:
        """The folder's entries (``/tmp`` itself by default), each
        ``{"path", "kind", "bytes"}`` with ``kind`` ``file``, ``dir`` or
        ``other``."""
        return self._native.list_files(path)

    def stat(self, path: str) -> Dict[str, Any]:
        """What is at ``path``, as a listing entry; a symlink is not followed."""
        return self._native.stat_file(path)

    def remove(self, path: str) -> None:
        """Removes the file (or empty folder) at ``path``."""
        self._native.remove_file(path)


class ToolOutput(str):
    """What :meth:`SandboxTool.run` returns: the text for the model (as
    Amla's ``run`` returns), with the whole :class:`Result` in ``.result``."""

    result: Result

    def __new__(cls, result: Result) -> "ToolOutput":
        text = super().__new__(cls, str(result))
        text.result = result
        return text


_TOOL_DESCRIPTION = (
    "Run code in a secure sandbox, isolated from this machine: no files, network or environment "
    "unless granted. Print results or end with an expression: its value is returned."
)

#: What the model is told of each language a sandbox tool may offer.
_LANGUAGE_NOTES = {
    "javascript": "ES2023; top-level await and return; call tools with `await name({...})`",
    "python": "CPython with numpy and pandas; call tools as `name(arg=...)`",
    "sh": "a POSIX shell in a process jail; call tools as `tool NAME --key value`",
    "bash": "bash in a process jail; call tools as `tool NAME --key value`",
    "python-native": "the host's python3 in a process jail",
    "node-native": "the host's node in a process jail",
}

def _canonical(name: str) -> Optional[str]:
    """The canonical name of the language ``name`` names, or ``None``."""
    try:
        return _language(name)
    except ValueError:
        return None


def _note(name: str) -> Optional[str]:
    """What the model is told of the language ``name`` names (any of its
    names: ``shell`` is ``sh``), or ``None`` for one a sandbox tool cannot offer."""
    canonical = _canonical(name)
    for listed, note in _LANGUAGE_NOTES.items():
        if canonical is not None and _canonical(listed) == canonical:
            return note
    return None


#: The languages a sandbox tool offers unless told otherwise: the two that
#: run in WebAssembly. The native ones run real programs in the process
#: jail, a different kind of isolation, so a model gets them only if the
#: developer lists them.
DEFAULT_TOOL_LANGUAGES = ("javascript", "python")


class SandboxTool:
    """A sandbox packaged as an agent tool, as ``create_sandbox_tool`` makes it.

    :meth:`run` returns the text for the model; ``sandbox`` is the
    :class:`Sandbox` behind it, for full :class:`Result` objects and sessions.
    """

    name = "sandbox"

    def __init__(
        self,
        sandbox: Sandbox,
        tools: Sequence[Callable[..., Any]],
        languages: Optional[Sequence[str]] = None,
    ) -> None:
        if languages is None:
            listed = sandbox._native.policy_languages
            languages = tuple(_TOOL_NAMES.get(name, name) for name in listed) if listed else DEFAULT_TOOL_LANGUAGES
        unknown = [language for language in languages if _note(language) is None]
        if unknown or not languages:
            raise ValueError(
                f"languages must name at least one of {', '.join(_LANGUAGE_NOTES)}; got {list(languages)!r}"
            )
        refused = [language for language in languages if _language(language) not in sandbox.languages]
        if refused:
            raise ValueError(
                f"the policy's languages ({', '.join(sandbox.languages)}) do not include {', '.join(refused)}"
            )
        self.sandbox = sandbox
        self.tools = list(tools)
        #: The languages :meth:`run` accepts, the first the default.
        self.languages = tuple(dict.fromkeys(languages))

    @property
    def description(self) -> str:
        """A description for the model, naming its languages and the tools the code may call."""
        lines = [_TOOL_DESCRIPTION, "Set language to one of:"]
        lines.extend(f'  "{language}": {_note(language)}' for language in self.languages)
        if self.sandbox.tools:
            lines.append("")
            lines.append("Functions the code may call:")
            for spec in self.sandbox.tools:
                parameters = ", ".join(spec.schema.get("properties", {}))
                summary = f" - {spec.description}" if spec.description else ""
                lines.append(f"  {spec.name}({{{parameters}}}){summary}")
        return "\n".join(lines)

    def run(self, code: str, language: Optional[str] = None) -> ToolOutput:
        """Runs ``code`` in a fresh guest and returns the text for the model.

        ``language`` must be one of :attr:`languages` (default: the first);
        any other raises ``ValueError`` before anything runs.
        """
        return ToolOutput(self.execute(code, language))

    def execute(self, code: str, language: Optional[str] = None) -> Result:
        """Runs ``code`` in a fresh guest and returns the whole :class:`Result`."""
        language = self.languages[0] if language is None else language
        # Any name of a language it runs will do: Amla's "shell" is "sh".
        if _canonical(language) not in {_canonical(offered) for offered in self.languages}:
            raise ValueError(
                f"this sandbox tool runs {', '.join(self.languages)}, not {language!r} "
                "(create_sandbox_tool(languages=[...]) chooses them)"
            )
        return self.sandbox.run(code, language)

    def as_langchain_tool(self) -> Any:
        """A LangChain ``BaseTool`` that runs code here (needs ``langchain-core``)."""
        from .adapters.langchain import as_langchain_tool

        return as_langchain_tool(self)


def create_sandbox_tool(
    tools: Optional[Sequence[Callable[..., Any]]] = None,
    *,
    constraints: Optional[Mapping[str, Mapping[str, Any]]] = None,
    max_calls: Union[int, Mapping[str, int], None] = None,
    policy: PolicyLike = None,
    languages: Optional[Sequence[str]] = None,
) -> SandboxTool:
    """Amla's API: a sandbox whose guest may call ``tools``.

    ``constraints`` maps a tool's name to rules on its arguments:
    ``"<=1000"``, ``">=0"``, ``"==42"``, ``"startswith:/api/"``, a list of
    allowed values, or any rule of stockade's policy (``"matches ^[a-z]+$"``,
    ``"len <= 64"``, ``{"ge": 1, "le": 10}``). An invalid rule is an error,
    never skipped. ``max_calls`` is a budget for the sandbox tool's whole
    life, as Amla's is ("max 5 refunds per session"): for all tools (an
    int) or per tool (a dict), counted over every run and session of it.
    A refused call raises ``ToolDenied`` in the guest,
    and the tool does not run. As Amla's, the sandbox tool keeps a
    workspace: ``/workspace`` and ``/tmp``, writable, shared by all of its
    runs and languages, held together to ``files.tmp_bytes`` (64 MiB when
    the policy sets none). ``languages`` are the ones the model may
    choose, the first the default. Without it, the policy's ``languages``
    decide, and where the policy lists none, JavaScript and Python (both in
    WebAssembly): the native ones (``"sh"``, ``"bash"``, ``"python-native"``,
    ``"node-native"``: the process jail) only when listed here or there. A
    language the policy does not run is a ``ValueError`` here.
    """
    tools = list(tools or [])
    sandbox = Sandbox(
        policy, tools, constraints=constraints, max_calls=max_calls, budget="lifetime", workspace=True
    )
    return SandboxTool(sandbox, tools, languages)


def _grants(
    names: Sequence[str],
    constraints: Optional[Mapping[str, Mapping[str, Any]]],
    max_calls: Union[int, Mapping[str, int], None],
    budget_key: str = "max_calls",
) -> Dict[str, Dict[str, Any]]:
    """The ``[tools.NAME]`` entries for the registered tools; ``max_calls``
    goes in under ``budget_key`` (per run, or over the sandbox's life)."""
    grants: Dict[str, Dict[str, Any]] = {name: {} for name in names}
    for name, rules in (constraints or {}).items():
        if name not in grants:
            raise ValueError(f"constraints names {name!r}, which is not one of the tools")
        if not isinstance(rules, Mapping):
            raise TypeError(f"constraints[{name!r}] must be a dict of argument rules")
        grants[name]["constraints"] = {str(argument): _rule(rule) for argument, rule in rules.items()}
    if isinstance(max_calls, bool):
        raise TypeError("max_calls must be an int or a dict of ints")
    if isinstance(max_calls, int):
        for grant in grants.values():
            grant[budget_key] = max_calls
    elif max_calls is not None:
        for name, limit in max_calls.items():
            if name not in grants:
                raise ValueError(f"max_calls names {name!r}, which is not one of the tools")
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"max_calls[{name!r}] must be an int")
            grants[name][budget_key] = limit
    return grants


def _rule(rule: Any) -> Any:
    """An Amla constraint in stockade's policy form."""
    if isinstance(rule, str) and rule.startswith("startswith:"):
        # The table form keeps the prefix exact (a text rule is trimmed).
        return {"starts_with": rule[len("startswith:"):]}
    if isinstance(rule, (bool, int, float)):
        return {"eq": rule}
    if isinstance(rule, (tuple, set, frozenset)):
        return list(rule)
    return rule


def _policy_text(policy: PolicyLike) -> Optional[str]:
    if policy is None:
        return None
    if isinstance(policy, Mapping):
        return json.dumps(policy)
    if isinstance(policy, (str, os.PathLike)):
        with open(policy, encoding="utf-8") as file:
            return file.read()
    raise TypeError(f"policy must be a dict, a path or None, not {type(policy).__name__}")


def _code(code: Any) -> str:
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, not {type(code).__name__}")
    return code
