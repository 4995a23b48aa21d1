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
    compiled; 0 compiles everything) and ``JITSAW_DUMP`` (``uops``, ``asm``).
    Raises ValueError for an invalid setting and RuntimeError if another
    PEP 523 frame evaluator (a debugger, another JIT) is installed. Calling it
    again while enabled re-reads the settings.
    """
    _enable()
