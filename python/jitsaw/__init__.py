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
    count, count_file = _enable()
    _step_aside_for_perf()
    if count:
        _start_counting(count_file)


_counting = False

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
    argv = getattr(_sys, "argv", None)
    line = json.dumps({"argv": argv if isinstance(argv, list) else [], **counts})
    with open(path, "a") as f:
        f.write(line + "\n")


def print_stats(file=None):
    """Print a readable summary of ``stats()`` (``python -m jitsaw --stats``
    prints it at exit): what was compiled and refused, and where compiled
    code left for the interpreter."""
    s = stats()
    out = file or _sys.stderr
    w = out.write
    w("jitsaw statistics\n")
    w(f"  compiled           {s['functions_compiled']} code objects, {s['instructions_compiled']} instructions, "
      f"{s['uops_compiled']} micro-ops\n")
    w(f"  compile time       {s['compile_time_ns'] / 1e6:.1f} ms "
      f"({s['compile_time_ns'] / 1e3 / max(s['instructions_compiled'], 1):.2f} us per instruction)\n")
    w(f"  machine code       {s['code_bytes'] / 1024:.0f} KiB generated, {s['code_bytes_in_use'] / 1024:.0f} KiB in use "
      f"({s['provisional_code_bytes_freed'] / 1024:.0f} KiB of provisional code freed after its call)\n")
    w(f"  frames entered     {s['frames_entered']} in compiled code ({s['resumed_directly']} generators resumed "
      f"directly, {s['properties_entered']} property getters, {s['inits_entered']} __init__ of new "
      f"instances), {s['deopts']} handed to the interpreter, "
      f"{s['raise_exits']} raised; {s['calls_without_frame']} calls needed no frame, "
      f"{s['star_calls_bound']} bound *args/**kwargs without CPython, "
      f"{s['loops_entered']} long first calls entered again at a loop compiled anew, "
      f"{s['iter_generators']} generators made for iter() without calling __iter__\n")
    w(f"  yield from/await   {s['yields_passed_through']} yields and {s['sends_passed_through']} resumptions "
      f"passed through a delegating generator without running it\n")
    w(f"  imports            {s['imports_unhooked']} run without the frame hook, as without jitsaw\n")
    cache = s["attribute_cache"]
    w(f"  attribute caches   {cache['filled']} entries filled, {cache['generic']} accesses took the generic path\n")
    if s["refused"]:
        w("  refused            " + ", ".join(f"{reason}: {n}" for reason, n in sorted(s["refused"].items())) + "\n")
    invalidated = {k: n for k, n in s.get("invalidations", {}).items() if n}
    if invalidated:
        w("  recompiled         " + ", ".join(f"{reason}: {n}" for reason, n in invalidated.items()) + "\n")
    if s["code_limit_hits"]:
        w(f"  code limit         reached {s['code_limit_hits']} times (JITSAW_CODE_LIMIT)\n")
    exits = sorted(s["exits"].items(), key=lambda kv: -kv[1])
    if exits:
        w("  exits (most frequent first)\n")
        for reason, n in exits[:20]:
            w(f"    {n:>10}  {reason}\n")
    counts = s["instructions_executed"]
    if counts["compiled"] or counts["interpreted"]:
        total = counts["compiled"] + counts["interpreted"]
        w(f"  executed           {counts['compiled'] / total:.1%} of {total} instructions in compiled code\n")
    uops = sorted(s.get("uops_executed", {}).items(), key=lambda kv: -kv[1])
    if uops:
        w("  micro-ops run in compiled code (most frequent first)\n")
        for name, n in uops[:20]:
            w(f"    {n:>10}  {name}\n")
    out.flush()


def report(path):
    """Write an HTML page showing how each line of each file that ran was
    executed: jitted, deopted often, specialized by CPython, interpreted
    (hover a line for its instructions, micro-ops and counts), with a table
    of the hottest functions. Needs profiles: set ``JITSAW_PROFILE=1`` (or
    ``JITSAW_REPORT=path``) before jitsaw is enabled, or run the program
    with ``python -m jitsaw --report path``. Returns the path written."""
    import os

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"jitsaw.report() expects a file path, got {type(path).__name__}")
    from . import _jitsaw, _report

    page = _report.build(_jitsaw.profiles())
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def dump(function, file=None):
    """Print how ``function`` (or a code object) compiles now: its bytecode,
    the micro-ops after each stage (frontend, then each optimizer pass) and
    the machine code with each stencil's boundaries (what ``JITSAW_DUMP=uops,asm``
    prints for every compiled function). Raises TypeError for other objects
    and ValueError if the code cannot be compiled."""
    from . import _jitsaw

    text = _jitsaw.dump_text(function)
    (file or _sys.stdout).write(text)
