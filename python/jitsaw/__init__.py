"""jitsaw: a copy-and-patch JIT compiler for CPython 3.13.

    import jitsaw
    jitsaw.enable()      # compile hot functions from now on
    jitsaw.stats()       # what was compiled, refused, and how it ran
    jitsaw.disable()

Or run a whole program with it: ``python -m jitsaw prog.py [args]``, or set
``JITSAW=1`` in the environment of any ``python`` run.
"""

import sys as _sys

SUPPORTED = "CPython 3.13 (release build with the GIL)"


def _check_interpreter():
    impl = _sys.implementation.name
    version = "%d.%d.%d" % _sys.version_info[:3]
    if impl != "cpython" or _sys.version_info[:2] != (3, 13):
        raise ImportError(f"jitsaw supports {SUPPORTED} only; this is {impl} {version}")
    if hasattr(_sys, "gettotalrefcount"):
        raise ImportError(f"jitsaw supports {SUPPORTED} only; this is a debug build of {version}")
    if not getattr(_sys, "_is_gil_enabled", lambda: True)():
        raise ImportError(f"jitsaw supports {SUPPORTED} only; this is a free-threaded build of {version}")


_check_interpreter()

from ._jitsaw import disable, is_enabled, stats  # noqa: E402
from ._jitsaw import enable as _enable  # noqa: E402

__all__ = ["enable", "disable", "is_enabled", "stats", "SUPPORTED"]


def enable():
    """Switch the JIT on for every function called from now on.

    Reads ``JITSAW_THRESHOLD`` (calls before a function without loops is
    compiled; 0 compiles everything), ``JITSAW_DUMP`` (``uops``, ``asm``) and
    ``JITSAW_STATS`` / ``JITSAW_STATS_FILE`` (counting mode: every
    instruction run is counted as compiled or interpreted, see ``stats()``;
    the file gets a JSON line with the counts at exit).
    Raises ValueError for an invalid setting and RuntimeError if another
    PEP 523 frame evaluator (a debugger, another JIT) is installed. Calling it
    again while enabled re-reads the settings.
    """
    count, count_file = _enable()
    if count:
        _start_counting(count_file)


_counting = False


def _start_counting(path):
    """Counting mode: the interpreter's instructions are counted through a
    ``sys.monitoring`` tool (``OPTIMIZER_ID``) whose ``INSTRUCTION`` events
    jitsaw switches on for a code object only while one of its frames runs
    in the interpreter; compiled code counts its own."""
    global _counting
    if _counting:
        return
    from . import _jitsaw

    mon = _sys.monitoring
    tool = mon.OPTIMIZER_ID
    if mon.get_tool(tool) not in (None, "jitsaw"):
        raise RuntimeError(f"JITSAW_STATS: sys.monitoring tool {tool} is used by {mon.get_tool(tool)!r}")
    if mon.get_tool(tool) is None:
        mon.use_tool_id(tool, "jitsaw")
    mon.register_callback(tool, mon.events.INSTRUCTION, _jitsaw.count_instruction)
    _jitsaw.start_counting(mon.set_local_events, mon.events.INSTRUCTION)
    _counting = True
    if path:
        import atexit

        atexit.register(_write_counts, path)


def _write_counts(path):
    import json

    counts = stats()["instructions_executed"]
    line = json.dumps({"argv": _sys.argv, **counts})
    with open(path, "a") as f:
        f.write(line + "\n")
