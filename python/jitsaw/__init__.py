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

# As an attribute too: the start-up hook (`_jitsaw_autoload`) may have
# loaded the extension before the package, which the import system then
# does not set on the package.
from . import _jitsaw  # noqa: E402
from ._jitsaw import disable, is_enabled, stats  # noqa: E402
from ._jitsaw import enable as _enable  # noqa: E402

__all__ = ["enable", "disable", "is_enabled", "stats", "print_stats", "report", "dump", "SUPPORTED"]


def enable():
    """Switch the JIT on for every function called from now on.

    Reads ``JITSAW_THRESHOLD`` (calls before a function without loops is
    compiled; 0 compiles everything; unset, the default 16 calls and then
    until its calls took three times as long as compiling it would),
    ``JITSAW_DUMP``
    (``uops``, ``asm``) and ``JITSAW_STATS`` / ``JITSAW_STATS_FILE``
    (counting mode: every instruction run is counted as compiled or
    interpreted, see ``stats()``; the file gets a JSON line with the counts
    at exit).
    Raises ValueError for an invalid setting and RuntimeError if another
    PEP 523 frame evaluator (a debugger, another JIT) is installed or in a
    subinterpreter (jitsaw runs in the main interpreter only). Calling it
    again while enabled re-reads the settings.
    """
    # The start-up hook's module, beside the package: it steps aside for
    # `sys.activate_stack_trampoline` without needing the package.
    from _jitsaw_autoload import step_aside_for_perf

    step_aside_for_perf(_jitsaw)
    count, count_file = _enable()
    if count:
        from ._tools import start_counting

        start_counting(count_file)


# What `_tools` holds, loaded at its first use (PEP 562).
_TOOLS = ("print_stats", "report", "dump")


def __getattr__(name):
    if name in _TOOLS:
        from . import _tools

        value = getattr(_tools, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_TOOLS})
