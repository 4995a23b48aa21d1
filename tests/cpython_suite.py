"""CPython's own test suite, plain and under jitsaw, module by module.

Runs ``python -m test`` from the interpreter's installation twice: plain,
then with ``JITSAW=1 JITSAW_THRESHOLD=0`` (every function compiled at its
first call; ``--threshold default`` keeps jitsaw's own policy, whose
warm-ups, recompilations and respecializations threshold 0 skips), and
reports, for each test module, both outcomes and whether
they agree. Exits with status 1 when a module that passes plain does not
pass under the JIT.

    python3.13 tests/cpython_suite.py                 # the CI subset
    python3.13 tests/cpython_suite.py --all -j2       # every module
    python3.13 tests/cpython_suite.py test_dis test_with
    python3.13 tests/cpython_suite.py --count       # + share of compiled code
    python3.13 tests/cpython_suite.py --all --threshold default  # jitsaw's own policy

With ``--count`` the jitted run is in jitsaw's counting mode
(``JITSAW_STATS_FILE``): every bytecode instruction executed is counted as
run by compiled code or by the interpreter, in every process the tests
start, and the share run compiled is reported per test module and overall.

The interpreter running this script is the one tested; jitsaw must be
installed in it.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

# The subset CI runs: the modules issue 4 names, plus fast modules that
# exercise the language broadly. Each takes seconds.
CI_MODULES = """
test_grammar test_exceptions test_exception_group test_generators
test_coroutines test_asyncgen test_patma test_with test_contextlib test_scope
test_class test_descr test_super test_dataclasses test_long test_float
test_int test_math test_list test_tuple test_dict test_set test_string
test_fstring test_unpack test_unpack_ex test_keywordonlyarg test_sys_settrace
test_sys_setprofile test_monitoring test_traceback test_frame test_inspect
test_threading test_signal test_itertools test_functools test_collections
test_re test_json test_pickle test_enum test_typing test_richcmp
test_augassign test_opcodes test_compile test_dis
test_bool test_builtin test_contains test_copy test_decorators
test_defaultdict test_deque test_dictviews test_genexps test_heapq
test_bisect test_iter test_listcomps test_setcomps test_dictcomps test_raise test_opcache
test_operator test_print test_sort test_textwrap test_bytes test_slice
test_types test_abc test_property test_named_expressions
test_exception_variations test_positional_only_arg test_isinstance
test_userdict test_userlist test_yield_from test_fractions test_struct
test_base64 test_csv test_pprint test_string_literals test_genericalias
""".split()

# `python -m test` progress lines: "[ 3/48] test_x passed", "[4/48/1] ...".
PROGRESS = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\] (test\S*) (.*)$")
OUTCOMES = (
    "passed",
    "failed",
    "skipped",
    "resource denied",
    "env changed",
    "crashed",
    "timed out",
    "interrupted",
    "run no tests",
    "uncaught exception",
)


def outcome_of(rest):
    """The outcome word of a progress line's tail (timings dropped)."""
    rest = re.sub(r"\s*\(\d[^)]*\)", "", rest).strip()
    for word in OUTCOMES:
        if rest.startswith(word) or word in rest:
            return word
    return rest or "unknown"


def module_of(argv):
    """The test module a process ran, from a regrtest worker's arguments."""
    for arg in argv:
        if arg.startswith("{"):
            try:
                tests = json.loads(arg).get("tests") or []
            except (ValueError, AttributeError):
                continue
            if tests:
                return tests[0]
    return None


def read_counts(path):
    """Per test module (or "(other processes)"): instructions run compiled
    and interpreted."""
    totals = {}
    if not os.path.exists(path):
        return totals
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            argv = rec.get("argv") if isinstance(rec, dict) else None
            key = module_of(argv if isinstance(argv, list) else []) or "(other processes)"
            c, i = totals.get(key, (0, 0))
            totals[key] = (c + int(rec.get("compiled") or 0), i + int(rec.get("interpreted") or 0))
    return totals


def share(compiled, interpreted):
    total = compiled + interpreted
    return 100.0 * compiled / total if total else 0.0


# Test cases left out on both sides: they hang plain CPython too on these
# VMs. test_threading's gh-102056 case interrupts an exponential recursion
# from a thread after a second; in session 45 its child process ran for
# over 17 minutes plain and jitted alike (and 5 s when run alone).
FLAKY = ["test_print_exception_gh_102056"]


def run_suite(modules, *, jit, jobs, timeout, threshold="0", extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    if jit:
        env["JITSAW"] = "1"
        if threshold != "default":
            env["JITSAW_THRESHOLD"] = threshold
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "test", f"-j{jobs}", f"--timeout={timeout}"]
    cmd += [arg for pattern in FLAKY for arg in ("-i", pattern)]
    cmd += modules
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    results = {}
    for line in proc.stdout.splitlines():
        m = PROGRESS.search(line)
        if m and m.group(1) in modules:
            results[m.group(1)] = outcome_of(m.group(2))
    for module in modules:
        results.setdefault(module, "not run")
    return results, elapsed, proc.stdout + proc.stderr


def all_modules():
    out = subprocess.run(
        [sys.executable, "-m", "test", "--list-tests"], capture_output=True, text=True, check=True
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip().startswith("test")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="test modules (default: the CI subset)")
    parser.add_argument("--all", action="store_true", help="every module of the installed suite")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=int, default=900, help="per-module timeout in seconds")
    parser.add_argument("--json", metavar="FILE", help="write the per-module results here")
    parser.add_argument("--log", metavar="DIR", help="keep both runs' full output in DIR")
    parser.add_argument(
        "--count", action="store_true", help="count instructions run compiled vs interpreted"
    )
    parser.add_argument(
        "--threshold",
        default="0",
        help="JITSAW_THRESHOLD of the jitted run: a count of calls, or 'default' for jitsaw's "
        "own policy (warm-up, recompilation); default 0, every function compiled at its first call",
    )
    args = parser.parse_args()
    if args.threshold != "default" and not args.threshold.isdigit():
        parser.error(f"--threshold must be a count or 'default', got {args.threshold!r}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if sys.version_info[:2] != (3, 13):
        parser.error(f"run this with Python 3.13, not {sys.version.split()[0]}")
    try:
        import jitsaw  # noqa: F401
    except ImportError as e:
        parser.error(f"jitsaw is not importable by {sys.executable}: {e}")
    if args.all and args.modules:
        parser.error("give either --all or module names, not both")
    modules = all_modules() if args.all else (args.modules or CI_MODULES)

    plain, plain_time, plain_log = run_suite(modules, jit=False, jobs=args.jobs, timeout=args.timeout)
    counts_file = None
    extra = {}
    if args.count:
        import tempfile

        fd, counts_file = tempfile.mkstemp(prefix="jitsaw-counts-", suffix=".jsonl")
        os.close(fd)
        extra["JITSAW_STATS_FILE"] = counts_file
    jitted, jit_time, jit_log = run_suite(
        modules,
        jit=True,
        jobs=args.jobs,
        timeout=args.timeout,
        threshold=args.threshold,
        extra_env=extra,
    )
    if args.log:
        os.makedirs(args.log, exist_ok=True)
        for name, text in (("plain.log", plain_log), ("jit.log", jit_log)):
            with open(os.path.join(args.log, name), "w") as f:
                f.write(text)
    counts = read_counts(counts_file) if counts_file else {}
    if counts_file:
        os.unlink(counts_file)
    regressions = [m for m in modules if plain[m] == "passed" and jitted[m] != "passed"]
    differ = [m for m in modules if plain[m] != jitted[m]]
    width = max(len(m) for m in modules)
    for m in modules:
        mark = "REGRESSION" if m in regressions else ("differs" if m in differ else "same")
        compiled = f"  {share(*counts[m]):5.1f}% compiled" if m in counts else ""
        print(f"{m:<{width}}  plain: {plain[m]:<16} jit: {jitted[m]:<16} {mark}{compiled}")
    same = len(modules) - len(differ)
    print(
        f"\n{len(modules)} modules: {same} same outcome, {len(differ)} differ, "
        f"{len(regressions)} pass plain but not under the JIT "
        f"(plain {plain_time:.0f}s, jit {jit_time:.0f}s)"
    )
    if regressions:
        print("regressions: " + " ".join(regressions))
    if counts:
        c = sum(v[0] for v in counts.values())
        i = sum(v[1] for v in counts.values())
        print(
            f"instructions executed: {c + i:,}, {share(c, i):.1f}% in compiled code "
            f"({c:,} compiled, {i:,} interpreted, all processes)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "modules": {m: {"plain": plain[m], "jit": jitted[m]} for m in modules},
                    "regressions": regressions,
                    "seconds": {"plain": plain_time, "jit": jit_time},
                    "instructions": {m: {"compiled": c, "interpreted": i} for m, (c, i) in counts.items()},
                },
                f,
                indent=2,
            )
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
