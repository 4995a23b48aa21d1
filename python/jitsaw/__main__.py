"""``python -m jitsaw [--stencils] [-m module | -c code | script] [args...]``

Runs a program exactly as ``python`` would, with the JIT on: this process
re-executes the same interpreter with the same interpreter options and
``JITSAW=1``, so ``sys.argv``, ``__main__``, tracebacks and exit codes are
those of a plain run.
"""

import os
import sys

USAGE = """usage: python -m jitsaw [--stencils] [--stats] [--report FILE] [-m module | -c code | script | -] [args...]

Runs a Python program with the jitsaw JIT compiler on, as `python` would run it.
  --stencils   print every stencil (machine-code template) with its holes, and exit
  --stats      print what the JIT did (compiled, refused, exits) to stderr at exit
  --report FILE  write an HTML page at exit showing how each line ran (jitted, deopted,
               specialized by CPython, interpreted) and the hottest functions
Environment: JITSAW_THRESHOLD (calls before compiling; 0 = all), JITSAW_DUMP (uops,asm),
JITSAW_STATS, JITSAW_PERF, JITSAW_PROFILE, JITSAW_CODE_LIMIT (see the README)
"""


def _interpreter_options():
    """The options this interpreter was started with, before ``-m jitsaw``."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable]
    options = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            break
        if arg.startswith("-m"):  # -mjitsaw
            break
        options.append(arg)
        if arg in ("-X", "-W") and i + 1 < len(argv):
            options.append(argv[i + 1])
            i += 1
        i += 1
    return options


def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if args and args[0] == "--stencils":
        from jitsaw import _jitsaw

        sys.stdout.write(_jitsaw.stencil_listing())
        return 0
    env = dict(os.environ, JITSAW="1")
    while args and args[0].startswith("--"):
        option, _, value = args[0].partition("=")
        if option == "--stats" and not value:
            args = args[1:]
            env["JITSAW_PRINT_STATS"] = "1"
        elif option == "--report":
            if not value:
                if len(args) < 2:
                    sys.stderr.write("jitsaw: error: --report needs a file name (--report out.html)\n")
                    return 2
                value, args = args[1], args[1:]
            args = args[1:]
            # The program may change directory before the report is written.
            env["JITSAW_REPORT"] = os.path.abspath(value)
        else:
            break
    # Fail here, clearly, rather than in the child.
    import jitsaw  # noqa: F401
    from jitsaw import _jitsaw
    from jitsaw._options import check_environment

    check_environment()
    pth = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(jitsaw.__file__))), "jitsaw.pth")
    if not os.path.exists(pth):
        sys.stderr.write(
            "jitsaw: error: jitsaw is not installed (its jitsaw.pth start-up hook is missing);\n"
            "install it with `python3.13 -m pip install .` from the jitsaw source tree\n"
        )
        return 2
    del _jitsaw
    command = [sys.executable, *_interpreter_options(), *args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    sys.exit(main())
