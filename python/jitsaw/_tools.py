"""jitsaw's functions for looking at what it did (``print_stats``,
``report``, ``dump``) and counting mode, apart from the package's
``__init__`` so that a program started with ``JITSAW=1`` does not load them
(each such start-up unmarshals the package; these were most of it). The
package exposes them as its own attributes on first use."""

import sys as _sys

from . import _jitsaw
from ._jitsaw import stats

_counting = False


def start_counting(path):
    """Counting mode: the interpreter's instructions are counted through a
    ``sys.monitoring`` tool (``OPTIMIZER_ID``) whose ``INSTRUCTION`` events
    jitsaw switches on for a code object only while one of its frames runs
    in the interpreter; compiled code counts its own."""
    global _counting
    if _counting:
        return
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

        atexit.register(write_counts, path)


def write_counts(path):
    """Appends the process's instruction counts to ``path`` as a JSON line
    (``JITSAW_STATS_FILE``), at exit."""
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
      f"{s['uops_compiled']} micro-ops, {s['calls_inlined']} calls with their callee inlined "
      f"({s['instructions_inlined']} instructions)\n")
    w(f"  compile time       {s['compile_time_ns'] / 1e6:.1f} ms "
      f"({s['compile_time_ns'] / 1e3 / max(s['instructions_compiled'] + s['instructions_inlined'], 1):.2f} "
      f"us per instruction, inlined ones included)\n")
    w(f"  machine code       {s['code_bytes'] / 1024:.0f} KiB generated, {s['code_bytes_in_use'] / 1024:.0f} KiB in use "
      f"({s['provisional_code_bytes_freed'] / 1024:.0f} KiB of provisional code freed after its call)\n")
    w(f"  frames entered     {s['frames_entered']} in compiled code ({s['resumed_directly']} generators resumed "
      f"directly, {s['properties_entered']} property getters and setters, {s['inits_entered']} __init__ of new "
      f"instances), {s['deopts']} handed to the interpreter, "
      f"{s['raise_exits']} raised; {s['calls_without_frame']} calls needed no frame, "
      f"{s['star_calls_bound']} bound *args/**kwargs without CPython, "
      f"{s['loops_entered']} long first calls entered again at a loop compiled anew, "
      f"{s['iter_generators']} generators made for iter() without calling __iter__\n")
    w(f"  yield from/await   {s['yields_passed_through']} yields and {s['sends_passed_through']} resumptions "
      f"passed through a delegating generator without running it\n")
    w(f"  imports            {s['imports_unhooked']} run without the frame hook, as without jitsaw\n")
    i = s["calls_interpreted"]
    w(
        f"  interpreted calls  {i['hooked']} under the frame hook, {i['rent']} timed as rent towards"
        f" compiling, {i['unhooked']} with the hook lifted, {i['first_counted']} first calls counted\n"
    )
    cache = s["attribute_cache"]
    w(
        f"  attribute caches   {cache['filled']} entries filled ({cache['shared']} more taken from other"
        f" sites'), {cache['generic']} accesses took the generic path\n"
    )
    if s["refused"]:
        w("  refused            " + ", ".join(f"{reason}: {n}" for reason, n in sorted(s["refused"].items())) + "\n")
    invalidated = {k: n for k, n in s.get("invalidations", {}).items() if n}
    if invalidated:
        w("  recompiled         " + ", ".join(f"{reason}: {n}" for reason, n in invalidated.items()) + "\n")
    if s["code_limit_hits"]:
        w(f"  code limit         reached {s['code_limit_hits']} times (JITSAW_CODE_LIMIT)\n")
    if s["low_memory_waits"]:
        w(f"  memory ran out     {s['low_memory_waits']} compilations put off\n")
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
    from . import _report

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
    text = _jitsaw.dump_text(function)
    (file or _sys.stdout).write(text)
