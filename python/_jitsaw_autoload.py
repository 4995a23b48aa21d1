"""Switches jitsaw on at interpreter start-up when ``JITSAW`` is set.

Imported by the ``jitsaw.pth`` file the package installs, and only when
``JITSAW`` is non-empty, so ordinary start-up pays nothing. A top-level
module, so that it can decide before the ``jitsaw`` package is imported.

jitsaw runs in the main interpreter only: in a subinterpreter (which the
extension does not support: its import or ``enable()`` refuses; only then
is ``_interpreters`` imported to tell, which costs a start-up a tenth of
a millisecond or more otherwise) it stays off silently, as it does when another
frame evaluator is already installed (``python -X perf``), so that the
program runs exactly as it would without jitsaw. An invalid ``JITSAW_*``
setting stops the program with a clear message.
"""

import os
import sys


def _fail(message):
    sys.stderr.write(f"jitsaw: error: {message}\n")
    sys.stderr.flush()
    os._exit(2)


def _in_subinterpreter():
    try:
        import _interpreters
    except ImportError:
        return False
    return _interpreters.get_current()[0] != _interpreters.get_main()[0]


def _autoload():
    value = os.environ.get("JITSAW", "")
    if value == "0":
        return
    if value != "1":
        _fail(f"JITSAW must be 1 (switch the JIT on) or 0 (off), got {value!r}")
    try:
        import jitsaw
    except ImportError as e:
        # In a subinterpreter the extension refuses to load (PyO3's check).
        if _in_subinterpreter():
            return
        _fail(str(e))
    try:
        jitsaw.enable()
    except ValueError as e:
        _fail(str(e))
    except RuntimeError as e:
        # A subinterpreter sharing the main one's extension modules (legacy
        # ones) imports it, and `enable()` refuses.
        if jitsaw._not_main(e):
            return
        if not jitsaw._hook_taken(e):
            _fail(str(e))
    stats = os.environ.get("JITSAW_PRINT_STATS") == "1"
    report = os.environ.get("JITSAW_REPORT", "").strip()
    report = os.path.abspath(report) if report and jitsaw.is_enabled() else None
    # `atexit` only when needed: a plain start-up does not import it.
    if stats or report:
        import atexit

        if stats:
            atexit.register(jitsaw.print_stats)
        if report:
            atexit.register(jitsaw.report, report)


_autoload()
