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

__all__ = ["enable", "disable", "is_enabled", "stats", "print_stats", "report", "dump", "SUPPORTED"]


def enable():
    """Switch the JIT on for every function called from now on.

    Reads ``JITSAW_THRESHOLD`` (calls before a function without loops is
    compiled; 0 compiles everything; unset, the default 16 calls and then
    until its calls took as long as compiling it would), ``JITSAW_DUMP``
    (``uops``, ``asm``) and ``JITSAW_STATS`` / ``JITSAW_STATS_FILE``
    (counting mode: every instruction run is counted as compiled or
    interpreted, see ``stats()``; the file gets a JSON line with the counts
    at exit).
    Raises ValueError for an invalid setting and RuntimeError if another
    PEP 523 frame evaluator (a debugger, another JIT) is installed or in a
    subinterpreter (jitsaw runs in the main interpreter only). Calling it
    again while enabled re-reads the settings.
    """
    # Before the hook is installed: its Python code then runs as without
    # jitsaw (a third of what it costs under the hook, at every start-up).
    _step_aside_for_perf()
    count, count_file = _enable()
    if count:
        from ._tools import start_counting

        start_counting(count_file)



_HOOK_TAKEN = "another frame evaluation hook"


def _hook_taken(error):
    """Whether ``enable()`` failed because another frame evaluator (a
    debugger, ``python -X perf``) is installed."""
    return _HOOK_TAKEN in str(error)


_NOT_MAIN = "main interpreter only"


def _not_main(error):
    """Whether ``enable()`` failed because it ran in a subinterpreter."""
    return _NOT_MAIN in str(error)


def _wraps(wrapped):
    """``functools.wraps`` for the stack trampoline's wrappers, without
    importing ``functools`` (and ``collections``, which it imports) into
    every program ``JITSAW=1`` starts: a tenth of that start-up's
    instructions. Only for the ``sys`` functions, which have all four
    attributes; without a loop, so that start-up compiles nothing for it."""

    def wrap(wrapper):
        wrapper.__module__ = wrapped.__module__
        wrapper.__name__ = wrapped.__name__
        wrapper.__qualname__ = wrapped.__qualname__
        wrapper.__doc__ = wrapped.__doc__
        wrapper.__wrapped__ = wrapped
        return wrapper

    return wrap


def _step_aside_for_perf():
    """``sys.activate_stack_trampoline`` refuses to start while another
    frame evaluator is installed; jitsaw steps aside for it (the program
    then runs in the interpreter, as perf profiling wants) and comes back
    when it is deactivated."""
    activate = getattr(_sys, "activate_stack_trampoline", None)
    deactivate = getattr(_sys, "deactivate_stack_trampoline", None)
    if activate is None or getattr(activate, "_jitsaw", False):
        return
    stepped_aside = []

    @_wraps(activate)
    def activate_stack_trampoline(*args, **kwargs):
        if is_enabled():
            disable()
            stepped_aside.append(True)
        try:
            return activate(*args, **kwargs)
        except BaseException:
            if stepped_aside and not _sys.is_stack_trampoline_active():
                stepped_aside.clear()
                enable()
            raise

    @_wraps(deactivate)
    def deactivate_stack_trampoline(*args, **kwargs):
        result = deactivate(*args, **kwargs)
        if stepped_aside and not _sys.is_stack_trampoline_active():
            stepped_aside.clear()
            enable()
        return result

    activate_stack_trampoline._jitsaw = True
    _sys.activate_stack_trampoline = activate_stack_trampoline
    _sys.deactivate_stack_trampoline = deactivate_stack_trampoline


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
