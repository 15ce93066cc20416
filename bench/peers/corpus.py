"""Runs the compatibility corpus (tests/corpus) one program at a time:
through stockade's Python package (a fresh `Sandbox()` per program, as a
user's first run would be) and as native processes (`python3 -X utf8 -c`,
`node --input-type=module -e`), and prints each side's total wall time in
milliseconds and how many programs ended as the native run did (the same
stdout and exit status), as JSON.

argv: CORPUS_DIR.
"""
import json
import pathlib
import subprocess
import sys
import time

from stockade import Sandbox

NODE_PRELUDE = "globalThis.crypto ??= (await import('node:crypto')).webcrypto;\n"


def native(language, code):
    if language == "python":
        command = ["python3", "-X", "utf8", "-c", code]
    else:
        command = ["node", "--input-type=module", "-e", NODE_PRELUDE + code]
    done = subprocess.run(command, capture_output=True)
    return done.returncode == 0, done.stdout.decode("utf-8", "replace")


def guest(language, code):
    outcome = Sandbox().run(code, language)
    return outcome.ok, outcome.stdout


def main() -> None:
    root = pathlib.Path(sys.argv[1])
    result = {}
    for language, folder, suffix in [("python", "python", ".py"), ("javascript", "js", ".js")]:
        programs = sorted((root / folder).rglob("*" + suffix))
        codes = [p.read_text() for p in programs]
        guest(language, "1")  # loads the compiled guest, once per process
        started = time.perf_counter()
        ours = [guest(language, code) for code in codes]
        guest_ms = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        theirs = [native(language, code) for code in codes]
        native_ms = (time.perf_counter() - started) * 1e3
        result[language] = {
            "programs": len(codes),
            "guest_ms": guest_ms,
            "native_ms": native_ms,
            "same": sum(1 for a, b in zip(ours, theirs) if a == b),
        }
    print(json.dumps(result))


main()
