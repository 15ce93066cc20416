# stockade's runtime in the CPython guest, run once per machine before
# stockade's snapshot of the interpreter is taken (python/snapshot.rs); each
# run then calls `stockade._start` first. It
# - reports the run's result to the host through the door (`_host.call`) as
#   a result frame: the value of a trailing expression (JSON where it can be,
#   else its repr) or the uncaught exception, with its traceback. Result
#   frames start with {"ok": so the host tells them from tool calls;
# - offers the run's host tools as functions: `add(a=1, b=2)` in the code's
#   globals, and `from stockade import tools; tools.add(1, 2)`. A call the
#   host refuses raises `ToolDenied` (a `PermissionError`), and a tool that
#   failed raises `ToolError`; both carry the reason's `kind`.
def _stockade_install():
    import sys
    import _host
    import json
    import types
    import builtins
    import __main__

    # Output goes to the host a line at a time, as to a terminal, so that a
    # caller who streams it sees each line when it is printed.
    sys.stdout.reconfigure(line_buffering=True)

    def send(frame, default=None):
        _host.call(json.dumps(frame, separators=(",", ":"), allow_nan=False, default=default).encode())

    def plain(value):
        # numpy scalars and small arrays as JSON numbers and lists (a big
        # array keeps numpy's abridged repr); anything else as its repr.
        if type(value).__module__.split(".")[0] == "numpy":
            if getattr(value, "ndim", None) == 0:
                return value.item()
            if getattr(value, "size", None) is not None and value.size <= 1000:
                return value.tolist()
        raise TypeError("not JSON")

    def displayhook(value):
        if value is None:
            return
        import builtins

        builtins._ = value
        try:
            send({"ok": True, "value": value}, default=plain)
        except (TypeError, ValueError, RecursionError):
            send({"ok": True, "value": repr(value)})

    # The interpreter names each turn's code "<turn N>", counting from its
    # first turn ever, the snapshot's included; `start` notes the turn it
    # ran in, so a run's (or a session's) own turns are named from 1.
    turns_before = [0]

    def turn_number(filename):
        if isinstance(filename, str) and filename[:6] == "<turn " and filename[-1:] == ">":
            if filename[6:-1].isdigit():
                return int(filename[6:-1])
        return None

    def relabel(filename):
        number = turn_number(filename)
        if number is None or number <= turns_before[0]:
            return filename
        return "<turn %d>" % (number - turns_before[0])

    def relabelled(summary, seen):
        # The source lines are read when the summary is made, under the
        # real names; only what the report shows changes.
        if summary is None or id(summary) in seen:
            return
        seen.add(id(summary))
        for frame in summary.stack:
            frame.filename = relabel(frame.filename)
        if getattr(summary, "filename", None):
            summary.filename = relabel(summary.filename)
        for nested in [summary.__cause__, summary.__context__] + list(summary.exceptions or []):
            relabelled(nested, seen)

    def excepthook(kind, error, traceback):
        import traceback as tb

        if isinstance(error, SyntaxError):
            error.filename = relabel(error.filename)
        summary = tb.TracebackException(kind, error, traceback)
        if isinstance(error, SyntaxError) and not any(
            (turn_number(frame.filename) or 0) > turns_before[0] for frame in summary.stack
        ):
            # The code itself did not compile: the frames are the
            # interpreter's parse of it, not the code's, as with `python -c`.
            summary.stack = tb.StackSummary()
        relabelled(summary, set())
        stack = "".join(summary.format())
        try:
            message = str(error)
        except Exception:
            message = "<unprintable %s>" % kind.__name__
        send({"ok": False, "error": {"type": kind.__name__, "message": message, "stack": stack}})

    sys.displayhook = displayhook
    sys.excepthook = excepthook

    class ToolError(Exception):
        """A host tool ran and failed, or the exchange with the host broke."""

        def __init__(self, message, kind="tool_error"):
            super().__init__(message)
            self.kind = kind

    class ToolDenied(PermissionError):
        """The host refused the call before the tool ran (policy, schema, budget)."""

        def __init__(self, message, kind="denied"):
            super().__init__(message)
            self.kind = kind

    # Tracebacks name them as the guest imports them: `stockade.ToolDenied`.
    for error_class in (ToolError, ToolDenied):
        error_class.__module__, error_class.__qualname__ = "stockade", error_class.__name__

    ids = iter(range(1, 1 << 53))

    def request(frame):
        frame = dict(frame, v=1, id=next(ids))
        try:
            answer = _host.call(json.dumps(frame, separators=(",", ":")).encode())
        except ConnectionRefusedError:
            raise ToolError("this sandbox has no host tools", "unavailable") from None
        return json.loads(answer)

    class Ready:
        """A tool's answer where the caller awaits it (`await tool(...)`):
        the call is made at once, as every tool call is, and awaiting it
        gives the value."""

        __slots__ = ("value",)

        def __init__(self, value):
            self.value = value

        def __await__(self):
            return self.value
            yield

    awaitable_kinds = {}

    def awaitable(value):
        # For `asyncio.gather(tool(a), tool(b))`: a value of its own type
        # that can also be awaited. None and bool have no subtypes; they
        # stay as they are.
        kind = type(value)
        if kind not in (dict, list, str, int, float):
            return value
        if kind not in awaitable_kinds:

            def __await__(self, kind=kind):
                return kind(self)
                yield

            members = {"__slots__": (), "__await__": __await__}
            if kind.__hash__ is None:
                # gather keys its arguments by them; equal answers are equal
                # whichever one it keeps.
                members["__hash__"] = object.__hash__
            awaitable_kinds[kind] = type(kind.__name__, (kind,), members)
        return awaitable_kinds[kind](value)

    def awaited(frame):
        # Whether the caller's next instruction awaits the call's result.
        try:
            import opcode

            code, at = frame.f_code.co_code, frame.f_lasti + 2
            while at < len(code) and code[at] == opcode.opmap.get("CACHE", 0):
                at += 2
            return at < len(code) and code[at] == opcode.opmap["GET_AWAITABLE"]
        except (KeyError, AttributeError):
            return False

    def in_async_code(value, caller):
        # A tool called from a coroutine may be awaited, or gathered, as
        # well as used plainly; anywhere else its value is plain.
        asyncio = sys.modules.get("asyncio")
        if asyncio is None or asyncio._get_running_loop() is None:
            return value
        return Ready(value) if awaited(caller) else awaitable(value)

    def make_tool(name, description, schema):
        # Positional arguments follow the tool's declared order when it
        # gives one ("x-stockade-order", which the Python package writes), else
        # its required arguments, in order, then the rest: a schema's
        # properties come sorted by name, not in the function's order.
        schema = schema or {}
        properties = list(schema.get("properties", {}))
        params = schema.get("x-stockade-order")
        if not isinstance(params, list) or sorted(params) != sorted(properties):
            required = [p for p in schema.get("required", []) if p in properties]
            params = required + [p for p in properties if p not in required]

        def tool(*args, **kwargs):
            if len(args) > len(params):
                raise TypeError("%s() takes at most %d positional arguments" % (name, len(params)))
            for param, value in zip(params, args):
                if param in kwargs:
                    raise TypeError("%s() got multiple values for argument %r" % (name, param))
                kwargs[param] = value
            answer = request({"op": "call", "tool": name, "args": kwargs})
            if answer.get("ok"):
                return in_async_code(answer.get("value"), sys._getframe(1))
            error = answer.get("error") or {}
            kind, message = error.get("kind", "protocol"), error.get("message", "")
            if kind in ("tool_error", "protocol"):
                raise ToolError(message, kind)
            raise ToolDenied(message, kind)

        tool.__name__ = tool.__qualname__ = name
        tool.__doc__ = description
        tool.schema = schema
        return tool

    tools = types.SimpleNamespace()
    module = types.ModuleType("stockade", "stockade's guest API: the run's host tools and their errors.")
    module.tools, module.ToolError, module.ToolDenied = tools, ToolError, ToolDenied
    sys.modules["stockade"] = module
    builtins.ToolError, builtins.ToolDenied = ToolError, ToolDenied

    class NetworkError(OSError):
        """The host did not make the request: the policy refused it, a budget
        is spent, or the destination did not answer. `kind` says which."""

        def __init__(self, message, kind="network"):
            super().__init__(message)
            self.kind = kind

    NetworkError.__module__, NetworkError.__qualname__ = "stockade.http", "NetworkError"

    class Response:
        """An answer: `status`, `headers` (a list of pairs), `body` (bytes)."""

        def __init__(self, url, status, headers, body):
            self.url, self.status, self.headers, self.body = url, status, headers, body

        @property
        def ok(self):
            return 200 <= self.status < 300

        def header(self, name, default=None):
            name = name.lower()
            values = [value for key, value in self.headers if key.lower() == name]
            return ", ".join(values) if values else default

        def text(self, encoding="utf-8"):
            return self.body.decode(encoding, "replace")

        def json(self):
            return json.loads(self.body)

        def __repr__(self):
            return "<stockade.http.Response [%d]>" % self.status

    def http_request(method, url, headers=None, body=None):
        """Asks the host to make one HTTP request through the run's egress
        engine (the policy's network rules, budgets and secrets)."""
        import base64

        if isinstance(body, str):
            body = body.encode("utf-8")
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        frame = {
            "method": str(method).upper(),
            "url": str(url),
            "headers": [[str(name), str(value)] for name, value in pairs],
            "body": base64.b64encode(bytes(body or b"")).decode("ascii"),
        }
        try:
            answer = request({"op": "http", "request": frame})
        except ToolError:
            raise NetworkError("this run has no network: the policy's network.allow is empty") from None
        if not answer.get("ok"):
            error = answer.get("error") or {}
            raise NetworkError(error.get("message", "the request failed"), error.get("kind", "network"))
        got = answer["response"]
        headers = [(name, value) for name, value in got.get("headers", [])]
        return Response(str(url), got["status"], headers, base64.b64decode(got.get("body", "")))

    http_module = types.ModuleType("stockade.http", "HTTP requests made by the host, under the run's policy.")
    http_module.request, http_module.Response, http_module.NetworkError = http_request, Response, NetworkError
    http_module.get = lambda url, headers=None: http_request("GET", url, headers)
    http_module.post = lambda url, body=None, headers=None: http_request("POST", url, headers, body)
    sys.modules["stockade.http"] = http_module
    module.http = http_module

    def install_urllib():
        # urllib's own handlers open sockets, which the guest has none of:
        # a handler ahead of them asks the host instead, for http and https,
        # in the default opener and in every opener built after.
        import email.parser
        import http.client
        import io
        import urllib.error
        import urllib.request
        import urllib.response

        class StockadeHandler(urllib.request.BaseHandler):
            handler_order = 100

            def stockade_open(self, req):
                data = req.data
                if data is not None and not isinstance(data, (bytes, bytearray)):
                    data = data.read() if hasattr(data, "read") else b"".join(data)
                headers = list(req.header_items())
                if data is not None and not any(k.lower() == "content-type" for k, _ in headers):
                    headers.append(("Content-Type", "application/x-www-form-urlencoded"))
                try:
                    got = http_request(req.get_method(), req.full_url, headers, data)
                except NetworkError as error:
                    raise urllib.error.URLError(error) from None
                head = "".join("%s: %s\r\n" % pair for pair in got.headers)
                message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(head + "\r\n")
                answer = urllib.response.addinfourl(io.BytesIO(got.body), message, req.full_url, got.status)
                answer.msg = http.client.responses.get(got.status, "")
                return answer

            http_open = https_open = stockade_open

        build_opener = urllib.request.build_opener

        def stockade_build_opener(*handlers):
            return build_opener(StockadeHandler, *handlers)

        stockade_build_opener.__doc__ = build_opener.__doc__
        urllib.request.build_opener = stockade_build_opener
        urllib.request.install_opener(stockade_build_opener())

    def start(config):
        # The first turn of each run, on an interpreter restored from the
        # snapshot: what must differ between runs is set here.
        del module._start
        turns_before[0] = turn_number(sys._getframe(1).f_code.co_filename) or 0
        config = json.loads(bytes.fromhex(config))
        import os

        os.environ.update(config.get("env", {}))
        # Generators seeded while the snapshot was made would repeat the
        # same numbers in every run.
        if "random" in sys.modules:
            sys.modules["random"].seed()
        if "numpy.random" in sys.modules:
            sys.modules["numpy.random"].seed()
        refuse_chmod_on_read_only(config.get("mounts", []))
        # python.packages: the host's unpacked wheels, first on the path, so
        # a version the policy pins wins over one the guest bundles. A
        # snapshot that preloads from them has the folder there already.
        if config.get("packages") and config["packages"] not in sys.path:
            sys.path.insert(0, config["packages"])
        if config.get("network"):
            install_urllib()
        listing = []
        if config.get("tools"):
            try:
                listing = request({"op": "list"}).get("tools", [])
            except ToolError:
                pass
        for described in listing:
            name = described["name"]
            fn = make_tool(name, described.get("description", ""), described.get("inputSchema"))
            # A dotted name (`stripe.listTransactions`) is a function in a
            # namespace: `stripe.listTransactions(...)`.
            *spaces, leaf = name.split(".")
            place = tools
            for part in spaces:
                if getattr(place, part, None) is None:
                    setattr(place, part, types.SimpleNamespace())
                place = getattr(place, part)
            setattr(place, leaf, fn)
            top = spaces[0] if spaces else name
            # Not over a builtin, nor over a dunder of __main__ (a tool
            # named `__builtins__` would take the guest's builtins away).
            if not hasattr(builtins, top) and not top.startswith("__"):
                setattr(__main__, top, getattr(tools, top))

    def refuse_chmod_on_read_only(mounts):
        # WASI has no permission bits: CPython's os.chmod does nothing and
        # returns, even on a read-only grant or a path that does not exist.
        # Say what the host would: the file must exist, and a read-only
        # grant refuses any change. Elsewhere it stays the no-op it was.
        import errno
        import os

        chmod = os.chmod
        mounts = [(mount.rstrip("/") + "/", read_only) for mount, read_only in mounts]

        def on_read_only_grant(path):
            path = os.path.abspath(path).rstrip("/") + "/"
            # The innermost grant decides: a writable one may sit inside a read-only one.
            holders = [(len(mount), read_only) for mount, read_only in mounts if path.startswith(mount)]
            return max(holders, default=(0, False))[1]

        def guarded_chmod(path, mode, *, dir_fd=None, follow_symlinks=True):
            if not isinstance(path, int):
                os.stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
                if dir_fd is None and on_read_only_grant(os.fsdecode(path)):
                    raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), path)
            return chmod(path, mode, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

        guarded_chmod.__doc__, guarded_chmod.__wrapped__ = chmod.__doc__, chmod
        os.chmod = guarded_chmod

    def fix_selector_events(selector_events):
        # asyncio's event loop makes a socketpair so that other threads and
        # signal handlers can wake it; WASI has no socketpair, and the guest
        # has neither threads nor signals, so the loop needs none. It then
        # sleeps in its selector, through the host's clock, as time.sleep does.
        loop = selector_events.BaseSelectorEventLoop

        def make_self_pipe(self):
            self._ssock = self._csock = None

        def close_self_pipe(self):
            pass

        loop._make_self_pipe, loop._close_self_pipe = make_self_pipe, close_self_pipe

        # asyncio.run ends by shutting its default executor down on a thread
        # of its own; the executor here has no thread to wait for.
        async def shutdown_default_executor(self, timeout=None):
            self._executor_shutdown_called = True
            if self._default_executor is not None:
                self._default_executor.shutdown(wait=True)

        selector_events.base_events.BaseEventLoop.shutdown_default_executor = shutdown_default_executor

    no_processes = (
        "the WebAssembly guest cannot start processes; run shell or native programs in the "
        "process jail instead (languages sh, bash, python-native, node-native)"
    )

    def refuse_processes(*args, **kwargs):
        import errno

        raise PermissionError(errno.EPERM, no_processes)

    def fix_subprocess(subprocess):
        def refuse(self, *args, **kwargs):
            self._child_created = False  # what Popen.__del__ reads
            refuse_processes()

        subprocess.Popen.__init__ = refuse

    def fix_os(os):
        # `system` and `popen` are what programs call without asking first;
        # the rest only where WASI's os has them, since a program that
        # checks `hasattr(os, "fork")` picks another way without it.
        for name in ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp"):
            if name in ("system", "popen") or hasattr(os, name):
                setattr(os, name, refuse_processes)

    def fix_threading(threading):
        start = threading.Thread.start

        def start_or_say_why(self):
            try:
                return start(self)
            except RuntimeError:
                raise RuntimeError(
                    "can't start new thread: the WebAssembly guest has a single thread. Use "
                    "concurrent.futures.ThreadPoolExecutor (its tasks run as they are submitted) or "
                    "asyncio, or run the code as python-native in the process jail"
                ) from None

        start_or_say_why.__doc__, start_or_say_why.__wrapped__ = start.__doc__, start
        threading.Thread.start = start_or_say_why

    def fix_thread_pool(thread):
        # No thread to hand a task to: each runs as it is submitted, and its
        # future is done when submit returns. Programs that map or gather
        # over a pool work unchanged; the order of side effects is the
        # order of submission.
        import concurrent.futures

        def submit(self, fn, /, *args, **kwargs):
            with self._shutdown_lock:
                if self._shutdown:
                    raise RuntimeError("cannot schedule new futures after shutdown")
            future = concurrent.futures.Future()
            future.set_running_or_notify_cancel()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)
            return future

        submit.__doc__ = thread.ThreadPoolExecutor.submit.__doc__
        thread.ThreadPoolExecutor.submit = submit

    fixes = {
        "asyncio.selector_events": fix_selector_events,
        "subprocess": fix_subprocess,
        "os": fix_os,
        "threading": fix_threading,
        "concurrent.futures.thread": fix_thread_pool,
    }

    class FixingLoader:
        """Runs the real loader, then the fix for what it loaded."""

        def __init__(self, loader, fix):
            self.loader, self.fix = loader, fix

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            self.loader.exec_module(module)
            self.fix(module)

    class FixOnImport:
        """A finder that hands the standard modules in `fixes` to their own
        finder and fixes each once it is loaded: what the guest never
        imports costs nothing."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            fix = fixes.get(name)
            if fix is None:
                return None
            for finder in sys.meta_path:
                if finder is FixOnImport or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = FixingLoader(spec.loader, fix)
                    return spec
            return None

    for name, fix in fixes.items():
        if name in sys.modules:
            fix(sys.modules[name])
    sys.meta_path.insert(0, FixOnImport)

    module._start = start


_stockade_install()
del _stockade_install
