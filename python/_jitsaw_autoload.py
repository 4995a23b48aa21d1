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

The start-up loads the extension module from its file in the ``jitsaw``
package's directory, beside this module, without importing the package:
importlib's search of ``sys.path`` for the package and the package's own
import were a fifth of what ``JITSAW=1`` adds to a start-up. The package,
imported later by the program (or for ``JITSAW_PRINT_STATS``), finds the
extension in ``sys.modules``. So that the package is not needed either to
step aside for ``sys.activate_stack_trampoline``, that lives here too.

Nothing runs at import: ``jitsaw.pth`` calls ``_autoload()`` (which acts
once), and the package imports ``step_aside_for_perf`` from here.
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


# `enable()`'s RuntimeError messages (`hook.rs`): another frame evaluator
# (a debugger, `python -X perf`) is installed, or this is a subinterpreter.
_HOOK_TAKEN = "another frame evaluation hook"
_NOT_MAIN = "main interpreter only"


def _extension():
    """``jitsaw._jitsaw``, loaded as importlib's path finder would load it
    for the package, or ``None`` if this interpreter's extension file is not
    there (an interpreter the wheel was not built for: importing the
    package then says what is supported)."""
    import _imp

    bootstrap = sys.modules["_frozen_importlib"]
    external = sys.modules["_frozen_importlib_external"]
    name = "jitsaw._jitsaw"
    if name in sys.modules:
        return sys.modules[name]
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jitsaw")
    for suffix in _imp.extension_suffixes():
        path = os.path.join(directory, "_jitsaw" + suffix)
        if os.path.isfile(path):
            loader = external.ExtensionFileLoader(name, path)
            return bootstrap._load(external.spec_from_file_location(name, path, loader=loader))
    return None


# Whether `_autoload()` ran: `site` runs a `.pth` file's lines once per
# directory it adds, and a venv's `lib64` (a link to `lib`) is one more.
_started = False


def _autoload():
    global _started
    if _started:
        return
    _started = True
    value = os.environ.get("JITSAW", "")
    if value == "0":
        return
    if value != "1":
        _fail(f"JITSAW must be 1 (switch the JIT on) or 0 (off), got {value!r}")
    try:
        extension = _extension()
        if extension is None:
            import jitsaw  # noqa: F401  (raises the ImportError that says why)

            extension = jitsaw._jitsaw
    except ImportError as e:
        # In a subinterpreter the extension refuses to load (PyO3's check).
        if _in_subinterpreter():
            return
        _fail(str(e))
    step_aside_for_perf(extension)
    try:
        count, count_file = extension.enable()
    except ValueError as e:
        _fail(str(e))
    except RuntimeError as e:
        # A subinterpreter sharing the main one's extension modules (legacy
        # ones) imports it, and `enable()` refuses.
        if _NOT_MAIN in str(e):
            return
        if _HOOK_TAKEN not in str(e):
            _fail(str(e))
        count = False
    stats = os.environ.get("JITSAW_PRINT_STATS") == "1"
    report = os.environ.get("JITSAW_REPORT", "").strip()
    report = os.path.abspath(report) if report and extension.is_enabled() else None
    # The package (and `atexit`) only when needed: a plain start-up does not
    # import them.
    if count or stats or report:
        import jitsaw

        if count:
            # Counting mode, as `jitsaw.enable()` starts it.
            from jitsaw._tools import start_counting

            start_counting(count_file)
        if stats or report:
            import atexit

            if stats:
                atexit.register(jitsaw.print_stats)
            if report:
                atexit.register(jitsaw.report, report)


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


def step_aside_for_perf(extension):
    """``sys.activate_stack_trampoline`` refuses to start while another
    frame evaluator is installed; jitsaw (``extension``, its module) steps
    aside for it (the program then runs in the interpreter, as perf
    profiling wants) and comes back when it is deactivated. Installed once,
    before the hook (its Python code then runs as without jitsaw)."""
    activate = getattr(sys, "activate_stack_trampoline", None)
    deactivate = getattr(sys, "deactivate_stack_trampoline", None)
    if activate is None or getattr(activate, "_jitsaw", False):
        return
    stepped_aside = []

    @_wraps(activate)
    def activate_stack_trampoline(*args, **kwargs):
        if extension.is_enabled():
            extension.disable()
            stepped_aside.append(True)
        try:
            return activate(*args, **kwargs)
        except BaseException:
            if stepped_aside and not sys.is_stack_trampoline_active():
                stepped_aside.clear()
                extension.enable()
            raise

    @_wraps(deactivate)
    def deactivate_stack_trampoline(*args, **kwargs):
        result = deactivate(*args, **kwargs)
        if stepped_aside and not sys.is_stack_trampoline_active():
            stepped_aside.clear()
            extension.enable()
        return result

    activate_stack_trampoline._jitsaw = True
    sys.activate_stack_trampoline = activate_stack_trampoline
    sys.deactivate_stack_trampoline = deactivate_stack_trampoline
