# stockade's runtime in the CPython guest, run as the first turn of every
# instance. It reports the run's result to the host through the door
# (`_host.call`) as a result frame: the value of a trailing expression
# (JSON where it can be, else its repr) or the uncaught exception, with its
# traceback. Frames start with {"ok": so the host tells them from tool calls.
def _stockade_install():
    import sys
    import _host
    import json

    def send(frame):
        _host.call(json.dumps(frame, separators=(",", ":"), allow_nan=False).encode())

    def displayhook(value):
        if value is None:
            return
        import builtins

        builtins._ = value
        try:
            send({"ok": True, "value": value})
        except (TypeError, ValueError, RecursionError):
            send({"ok": True, "value": repr(value)})

    def excepthook(kind, error, traceback):
        import traceback as tb

        stack = "".join(tb.format_exception(kind, error, traceback))
        try:
            message = str(error)
        except Exception:
            message = "<unprintable %s>" % kind.__name__
        send({"ok": False, "error": {"type": kind.__name__, "message": message, "stack": stack}})

    sys.displayhook = displayhook
    sys.excepthook = excepthook


_stockade_install()
del _stockade_install
