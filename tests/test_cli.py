"""The user interface: ``python -m jitsaw``, ``JITSAW=1``, the Python API,
and clear errors for bad settings and unsupported interpreters."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, base_env

PY = sys.executable


def run(args, env=None, cwd=None, input=None):
    return subprocess.run(
        [PY, *args], capture_output=True, text=True, env=base_env(**(env or {})), cwd=cwd, input=input, timeout=120
    )


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "prog.py"
    p.write_text(
        "import sys\n"
        "def fib(n):\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a\n"
        "print(__name__, sys.argv, fib(50))\n"
        "import jitsaw\n"
        "print('enabled', jitsaw.is_enabled())\n"
        "if len(sys.argv) > 1 and sys.argv[1] == 'fail':\n"
        "    raise ValueError('boom')\n"
        "if len(sys.argv) > 1 and sys.argv[1] == 'exit':\n"
        "    sys.exit(7)\n"
    )
    return p


def plain_and_jit(args, **kw):
    plain = run(args, **kw)
    jit = run(["-m", "jitsaw", *args], **kw)
    return plain, jit


def test_run_script_like_python(script):
    for extra in ([], ["a", "b"], ["fail"], ["exit"]):
        plain, jit = plain_and_jit([str(script), *extra])
        assert jit.stdout == plain.stdout.replace("enabled False", "enabled True")
        assert jit.stderr == plain.stderr
        assert jit.returncode == plain.returncode
    assert "enabled True" in jit.stdout


def test_run_module_and_code(tmp_path, script):
    plain, jit = plain_and_jit(["-m", "prog", "x"], cwd=tmp_path)
    assert jit.stdout == plain.stdout.replace("enabled False", "enabled True")
    assert (jit.stderr, jit.returncode) == (plain.stderr, plain.returncode)
    plain, jit = plain_and_jit(["-c", "import sys, jitsaw; print(sys.argv, __name__, jitsaw.is_enabled())", "q"])
    assert jit.stdout == plain.stdout.replace("False", "True")
    plain, jit = plain_and_jit(["-m", "prog", "fail"], cwd=tmp_path)
    assert (jit.stderr, jit.returncode) == (plain.stderr, plain.returncode)


def test_interpreter_options_are_kept(script):
    plain = run(["-X", "dev", "-W", "error", "-c", "import sys; print(sys.flags.dev_mode, sys.warnoptions)"])
    jit = run(["-X", "dev", "-W", "error", "-m", "jitsaw", "-c", "import sys; print(sys.flags.dev_mode, sys.warnoptions)"])
    assert jit.stdout == plain.stdout and jit.returncode == 0


def test_missing_script_fails_like_python(tmp_path):
    plain, jit = plain_and_jit([str(tmp_path / "nope.py")])
    assert (jit.returncode, jit.stderr) == (plain.returncode, plain.stderr)
    assert "No such file or directory" in jit.stderr


def test_stencil_listing():
    out = run(["-m", "jitsaw", "--stencils"])
    assert out.returncode == 0
    assert "_BINARY_OP_ADD_INT" in out.stdout and "hole: Rel32 Continue" in out.stdout


def test_jitsaw_env_switches_the_jit_on(script):
    on = run([str(script)], env={"JITSAW": "1"})
    off = run([str(script)], env={"JITSAW": "0"})
    assert "enabled True" in on.stdout and "enabled False" in off.stdout


def test_start_up_and_shutdown_compile_nothing():
    # Code the interpreter runs itself, with no Python code below it, runs
    # once: `python -c` registering its source with `linecache` (a loop),
    # an `atexit` callback with a loop. The program's own code still is.
    quiet = run(["-c", "pass"], env={"JITSAW": "1", "JITSAW_PRINT_STATS": "1"})
    assert "compiled           0 code objects" in quiet.stderr, quiet.stderr
    prog = (
        "import atexit\n"
        "def at_exit(n):\n"
        "    t = 0\n"
        "    for i in range(n):\n"
        "        t += i\n"
        "    print('at exit', t)\n"
        "atexit.register(at_exit, 10)\n"
        "def work(n):\n"
        "    t = 0\n"
        "    for i in range(n):\n"
        "        t += i\n"
        "    return t\n"
        # Long enough for its counted first call to outlast the compile
        # estimate however fast the machine runs it.
        "print(work(100000))\n"
    )
    r = run(["-c", prog], env={"JITSAW": "1", "JITSAW_PRINT_STATS": "1", "JITSAW_DUMP": "uops"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("4999950000\nat exit 45\n"), r.stdout
    compiled = [line for line in r.stderr.splitlines() if line.startswith("jitsaw: compiled")]
    assert compiled == ["jitsaw: compiled work"], compiled


@pytest.mark.parametrize(
    "env, message",
    [
        ({"JITSAW": "yes"}, "JITSAW must be 1"),
        ({"JITSAW": "1", "JITSAW_THRESHOLD": "abc"}, "JITSAW_THRESHOLD must be a non-negative integer"),
        ({"JITSAW": "1", "JITSAW_THRESHOLD": "-3"}, "JITSAW_THRESHOLD must be a non-negative integer"),
        ({"JITSAW": "1", "JITSAW_DUMP": "bytes"}, "JITSAW_DUMP accepts"),
        ({"JITSAW": "1", "JITSAW_STATS": "yes"}, "JITSAW_STATS must be 1"),
    ],
)
def test_bad_settings_give_a_clear_error(script, env, message):
    for args in ([str(script)], ["-m", "jitsaw", str(script)]):
        out = run(args, env=env)
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("jitsaw: error: ") and message in out.stderr
        assert "Traceback" not in out.stderr


def test_api():
    code = """
import jitsaw
assert not jitsaw.is_enabled()
jitsaw.enable()
jitsaw.enable()          # enabling twice is harmless
assert jitsaw.is_enabled()
def f(n):
    t = 0
    for i in range(n):
        t += i
    return t
assert f(10) == 45
s = jitsaw.stats()
for key in ("functions_compiled", "functions_refused", "refused", "uops_compiled", "code_bytes",
            "deopts", "raise_exits", "exits", "unsupported_instructions"):
    assert key in s, key
assert s["functions_compiled"] >= 1 and s["code_bytes"] > 0 and s["uops_compiled"] > 0
jitsaw.disable()
assert not jitsaw.is_enabled()
jitsaw.disable()         # and so is disabling twice
assert f(10) == 45
print("ok")
"""
    out = run(["-c", code], env={"JITSAW_THRESHOLD": "0"})
    assert out.stdout == "ok\n", out.stderr


def test_bad_threshold_through_the_api():
    out = run(["-c", "import jitsaw\ntry:\n jitsaw.enable()\nexcept ValueError as e:\n print(e)"],
              env={"JITSAW_THRESHOLD": "x1"})
    assert "JITSAW_THRESHOLD" in out.stdout


def test_other_python_versions_get_a_clear_import_error():
    pyenv_root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    py312 = Path(pyenv_root) / "versions/3.12.1/bin/python3.12"
    if not py312.exists():
        pytest.skip("no CPython 3.12 here")
    out = subprocess.run(
        [str(py312), "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'python')!r}); import jitsaw"],
        capture_output=True, text=True, env=base_env(),
    )
    assert out.returncode == 1
    assert "ImportError: jitsaw supports CPython 3.13 (release build with the GIL) only; this is cpython 3.12.1" in out.stderr
    # The start-up hook finds no extension file for this interpreter and
    # imports the package for its error.
    start = "import _jitsaw_autoload; _jitsaw_autoload._autoload()"
    out = subprocess.run(
        [str(py312), "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'python')!r}); {start}"],
        capture_output=True, text=True, env=base_env(JITSAW="1"),
    )
    assert out.returncode == 2
    assert out.stderr == (
        "jitsaw: error: jitsaw supports CPython 3.13 (release build with the GIL) only; this is cpython 3.12.1\n"
    ), out.stderr


def test_pip_install_on_other_versions_says_what_is_supported(tmp_path):
    pyenv_root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    py312 = Path(pyenv_root) / "versions/3.12.1/bin/python3.12"
    if not py312.exists():
        pytest.skip("no CPython 3.12 here")
    out = subprocess.run(
        [str(py312), "-m", "pip", "install", "--dry-run", "--no-deps", "--target", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, env=base_env(), timeout=600,
    )
    assert out.returncode != 0
    assert "requires a different Python" in out.stderr and ">=3.13" in out.stderr


def test_counting_mode_counts_compiled_and_interpreted_instructions(tmp_path):
    prog = tmp_path / "count.py"
    prog.write_text(
        "def f(n):\n"
        "    t = 0\n"
        "    for i in range(n):\n"
        "        t += i\n"
        "    return t\n"
        "print(f(10000))\n"
        "import jitsaw\n"
        "c = jitsaw.stats()['instructions_executed']\n"
        "print(c['compiled'] > 50000, c['interpreted'] > 0)\n"
    )
    counts = tmp_path / "counts.jsonl"
    out = run([str(prog)], env={"JITSAW": "1", "JITSAW_STATS_FILE": str(counts)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["49995000", "True", "True"]
    record = json.loads(counts.read_text().splitlines()[-1])
    assert record["compiled"] > 50000 and record["interpreted"] > 0
    assert record["argv"] == [str(prog)]


def test_subinterpreters_run_without_jitsaw_and_without_noise():
    code = (
        "import _interpreters\n"
        "i = _interpreters.create()\n"
        "_interpreters.run_string(i, 'import sys; print(\"sub\", sys.version_info[:2])')\n"
        "import jitsaw; print(jitsaw.is_enabled())\n"
    )
    out = run(["-c", code], env={"JITSAW": "1"})
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert out.stdout.split("\n")[:2] == ["sub (3, 13)", "True"]


def test_legacy_subinterpreters_run_without_jitsaw():
    # A subinterpreter sharing the main one's GIL (`_testcapi.run_in_subinterp`,
    # as test_int and test_threading make) imports single-phase extension
    # modules from the main interpreter's copy: importing jitsaw there would
    # succeed, and it must not be switched on.
    _testcapi = pytest.importorskip("_testcapi")
    code = (
        "import _testcapi\n"
        "print(_testcapi.run_in_subinterp('import sys; x = sum(i for i in range(10))'))\n"
        "import jitsaw; print(jitsaw.is_enabled())\n"
    )
    for threshold in ("0", "16"):
        out = run(["-c", code], env={"JITSAW": "1", "JITSAW_THRESHOLD": threshold})
        assert out.returncode == 0 and out.stderr == "", out.stderr
        assert out.stdout.split() == ["0", "True"]


def test_enable_in_a_subinterpreter_is_refused_clearly():
    # Called there by hand (the start-up hook stays off silently instead),
    # `enable()` says why it will not: the frame hook, the watchers and the
    # runtime's state are the main interpreter's.
    _testcapi = pytest.importorskip("_testcapi")
    sub = (
        "import jitsaw\n"
        "try:\n"
        "    jitsaw.enable()\n"
        "except RuntimeError as e:\n"
        "    print('refused:', e)\n"
        "print(jitsaw.is_enabled())\n"
    )
    code = f"import _testcapi\nprint(_testcapi.run_in_subinterp({sub!r}))\n"
    out = run(["-c", code], env={})
    assert out.returncode == 0 and out.stderr == "", out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("refused: ") and "main interpreter only" in lines[0], lines
    assert lines[1:] == ["False", "0"]


def remove_perf_map(stdout):
    """Removes the ``/tmp/perf-PID.map`` of the process whose pid ends
    ``stdout`` (perf support, CPython's or jitsaw's, writes one)."""
    Path(f"/tmp/perf-{stdout.split()[-1]}.map").unlink(missing_ok=True)


def run_with_perf_support(args):
    """Runs ``args`` with ``JITSAW=1``, a program that prints its pid last
    and may switch perf support on: removes its perf map, checks it ran
    cleanly and returns the words it printed before the pid."""
    out = run(args, env={"JITSAW": "1"})
    remove_perf_map(out.stdout)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return out.stdout.split()[:-1]


def test_jitsaw_steps_aside_for_the_perf_trampoline():
    code = (
        "import os, sys, jitsaw\n"
        "print(jitsaw.is_enabled())\n"
        "sys.activate_stack_trampoline('perf')\n"
        "print(sys.is_stack_trampoline_active(), jitsaw.is_enabled())\n"
        "sys.deactivate_stack_trampoline()\n"
        "print(sys.is_stack_trampoline_active(), jitsaw.is_enabled(), os.getpid())\n"
    )
    assert run_with_perf_support(["-c", code]) == ["True", "True", "False", "False", "True"]
    # Perf support switched on at start-up keeps the hook: jitsaw stays off.
    code = "import os, jitsaw; print(jitsaw.is_enabled(), os.getpid())"
    assert run_with_perf_support(["-X", "perf", "-c", code]) == ["False"]


def test_start_up_loads_the_extension_without_the_package():
    # `JITSAW=1` loads `jitsaw._jitsaw` from its file and steps aside for
    # the perf trampoline without importing the package, which a later
    # import finds the extension for, the same module.
    code = (
        "import os, sys\n"
        "ext = sys.modules['jitsaw._jitsaw']\n"
        "print('jitsaw' in sys.modules, ext.is_enabled())\n"
        "sys.activate_stack_trampoline('perf')\n"
        "print(ext.is_enabled())\n"
        "sys.deactivate_stack_trampoline()\n"
        "import jitsaw\n"
        "jitsaw.enable()\n"
        "print(jitsaw._jitsaw is ext, jitsaw.is_enabled(), os.getpid())\n"
    )
    assert run_with_perf_support(["-c", code]) == ["False", "True", "False", "True", "True"]
    # `site` runs `jitsaw.pth` once per site directory it adds (a venv's
    # `lib64` links to `lib`): the start-up acts once.
    out = run(["-c", "pass"], env={"JITSAW": "1", "JITSAW_PRINT_STATS": "1"})
    assert out.returncode == 0 and out.stderr.count("jitsaw statistics") == 1, out.stderr


def test_calls_reach_a_frame_evaluator_installed_after_jitsaw():
    _testinternalcapi = pytest.importorskip("_testinternalcapi")
    code = (
        "import _testinternalcapi\n"
        "def leaf():\n"
        "    return 1\n"
        "def caller(n):\n"
        "    for i in range(n):\n"
        "        if i == 10:\n"
        "            _testinternalcapi.set_eval_frame_record(seen)\n"
        "        leaf()\n"
        "    _testinternalcapi.set_eval_frame_default()\n"
        "seen = []\n"
        "caller(20)\n"
        "print(len(seen), set(seen))\n"
    )
    plain = run(["-c", code])
    jitted = run(["-c", code], env={"JITSAW": "1", "JITSAW_THRESHOLD": "0"})
    assert jitted.returncode == 0, jitted.stderr
    assert jitted.stdout == plain.stdout


def test_perf_map_names_compiled_code(tmp_path):
    prog = tmp_path / "hot.py"
    prog.write_text(
        "import os\n"
        "def hot_loop(n):\n"
        "    t = 0\n"
        "    for i in range(n):\n"
        "        t += i % 7\n"
        "    return t\n"
        "print(hot_loop(2_000_000), os.getpid())\n"
    )
    out = run([str(prog)], env={"JITSAW": "1", "JITSAW_PERF": "1"})
    assert out.returncode == 0, out.stderr
    pid = out.stdout.split()[1]
    perf_map = Path(f"/tmp/perf-{pid}.map")
    try:
        lines = perf_map.read_text().splitlines()
    finally:
        perf_map.unlink(missing_ok=True)
    entry = [line for line in lines if line.endswith(f"jitsaw::hot_loop:{prog}:2")]
    assert entry, lines[-5:]
    start, size = (int(x, 16) for x in entry[0].split()[:2])
    assert start > 0 and size > 0


def test_perf_report_shows_jitted_functions(tmp_path):
    import shutil

    if shutil.which("perf") is None:
        pytest.skip("perf (linux-perf) is not installed")
    prog = tmp_path / "hot.py"
    prog.write_text(
        "def hot_loop(n):\n"
        "    t = 0\n"
        "    for i in range(n):\n"
        "        t += i * 3\n"
        "    return t\n"
        "import os\n"
        "print(hot_loop(20_000_000), os.getpid())\n"
    )
    data = tmp_path / "perf.data"
    env = base_env(JITSAW="1", JITSAW_PERF="1")
    record = subprocess.run(
        ["perf", "record", "-o", str(data), PY, str(prog)], capture_output=True, text=True, env=env, timeout=300
    )
    if record.returncode != 0:
        pytest.skip(f"perf record cannot run here: {record.stderr.strip()[-200:]}")
    # perf reads the map when it reports.
    try:
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--stdio"], capture_output=True, text=True, timeout=300
        )
    finally:
        remove_perf_map(record.stdout)
    assert "jitsaw::hot_loop" in report.stdout, report.stdout[-2000:]


def test_stats_flag_prints_a_summary_at_exit(script):
    out = run(["-m", "jitsaw", "--stats", str(script), "20"])
    assert out.returncode == 0, out.stderr
    assert "jitsaw statistics" in out.stderr and "compiled" in out.stderr
    jitted = run(["-m", "jitsaw", str(script), "20"])
    assert out.stdout == jitted.stdout


def test_dump_shows_bytecode_stages_and_machine_code():
    code = (
        "import io, jitsaw\n"
        "def f(a, b):\n"
        "    return a + b\n"
        "for i in range(20): f(i, 1)\n"
        "out = io.StringIO()\n"
        "jitsaw.dump(f, file=out)\n"
        "print(out.getvalue())\n"
        "for bad in (42, print):\n"
        "    try: jitsaw.dump(bad)\n"
        "    except TypeError as e: print('TypeError', e)\n"
    )
    # An explicit threshold is a plain count of calls.
    r = run(["-c", code], env={"JITSAW": "1", "JITSAW_THRESHOLD": "16"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    # Bytecode, the micro-ops after the frontend and each optimizer pass,
    # then the machine code with a header at each stencil.
    assert "BINARY_OP_ADD_INT" in out and "_GUARD_BOTH_INT" in out
    stages = [line.strip() for line in out.splitlines() if "-- micro-ops after" in line]
    assert stages == ["-- micro-ops after frontend", "-- micro-ops after inline_constants",
                      "-- micro-ops after burn_globals", "-- micro-ops after remove_guards",
                      "-- micro-ops after cache_attributes",
                      "-- micro-ops after remove_nops", "-- micro-ops after borrow_operands",
                      "-- micro-ops after remove_repeated_class_guards",
                      "-- micro-ops after fuse_local_operands",
                      "-- micro-ops after mask_comparisons",
                      "-- micro-ops after compute_in_words",
                      "-- micro-ops after keep_loops_in_words",
                      "-- micro-ops after unpack_into_locals",
                      "-- micro-ops after inline_calls"]
    assert "-- machine code" in out and "; _BINARY_OP_ADD_INT" in out
    assert out.count("TypeError jitsaw.dump() expects a Python function or a code object") == 2
    # JITSAW_DUMP=uops prints the same stages for every compilation.
    r = run(["-c", "def f(a): return a * 2\nfor i in range(20): f(i)\n"],
            env={"JITSAW": "1", "JITSAW_DUMP": "uops", "JITSAW_THRESHOLD": "16"})
    assert "jitsaw: compiled f" in r.stderr and "-- micro-ops after borrow_operands" in r.stderr


def test_counting_mode_counts_micro_ops():
    code = (
        "import jitsaw\n"
        "def f(n):\n"
        "    t = 0\n"
        "    for i in range(n): t += i\n"
        "    return t\n"
        "f(1000)\n"
        "u = jitsaw.stats()['uops_executed']\n"
        # (`sys.monitoring` counting keeps the loop unspecialized: _FOR_ITER.)
        "print(u.get('_ITER_NEXT_RANGE', 0) + u.get('_FOR_ITER', 0) >= 1000, '_COUNT_RUN' in u)\n"
    )
    r = run(["-c", code], env={"JITSAW": "1", "JITSAW_STATS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False"]


def test_debug_mode_checks_the_stack_depth_before_every_micro_op():
    code = (
        "import io, jitsaw\n"
        "def f(xs):\n"
        "    t = 0\n"
        "    for x in xs:\n"
        "        try:\n"
        "            t += 10 // x\n"
        "        except ZeroDivisionError:\n"
        "            t -= 1\n"
        "    return t\n"
        "print(f([1, 2, 0, 5] * 10))\n"
        "out = io.StringIO()\n"
        "jitsaw.dump(f, file=out)\n"
        "text = out.getvalue()\n"
        "stage = text[text.index('after check_stack_depth'):text.index('-- machine code')]\n"
        "uops = [l.replace('generic:', '').split()[0] for l in stage.splitlines()[1:] if l.startswith('          ')]\n"
        "checks = uops.count('_CHECK_STACK_DEPTH')\n"
        "print(checks > 0, checks >= (len(uops) - checks) * 0.9)\n"
    )
    r = run(["-c", code], env={"JITSAW": "1", "JITSAW_DEBUG": "1", "JITSAW_THRESHOLD": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["160", "True", "True"]


def test_stats_count_interpreted_calls_by_decision():
    code = (
        "import jitsaw\n"
        "def leaf(x):\n"
        "    return x + 1\n"
        "def caller(x):\n"
        "    return len([x])\n"
        "def before():\n"
        "    return dict(jitsaw.stats()['calls_interpreted'])\n"
        "b = before()\n"
        "for i in range(40): leaf(i); caller(i)\n"
        "a = jitsaw.stats()['calls_interpreted']\n"
        "d = {k: a[k] - b[k] for k in a}\n"
        "print(sorted(d))\n"
        # Up to the threshold, a function that calls runs under the hook and
        # a leaf without it; past it, calls are timed until compiling is due.
        "print(d['hooked'] >= 16, d['unhooked'] >= 16, d['rent'] >= 1)\n"
    )
    r = run(["-c", code], env={"JITSAW": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "['first_counted', 'hooked', 'rent', 'unhooked']",
        "True True True",
    ]
    r = run(["-m", "jitsaw", "--stats", "-c", "pass"], env={})
    assert r.returncode == 0, r.stderr
    assert "interpreted calls" in r.stderr


def test_stats_count_invalidations():
    code = (
        "import jitsaw\n"
        "def f(a, b):\n"
        "    return a + b\n"
        "for i in range(10): f(i, 1)\n"
        "for i in range(2000): f(1.5, 2.5)\n"
        "print(sum(jitsaw.stats()['invalidations'].values()) >= 1)\n"
        "print(sorted(jitsaw.stats()['invalidations']))\n"
    )
    # Compiled at the 17th call (a plain count), from int bytecode.
    r = run(["-c", code], env={"JITSAW": "1", "JITSAW_THRESHOLD": "16"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "True",
        "['burned-in global changed', 'frequent deopts', 'frequent generic fallbacks', 'respecialized']"]
