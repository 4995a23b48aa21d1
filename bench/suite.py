"""pyperformance's pure-Python benchmarks, plain and under jitsaw, in one run.

    python3.13 bench/suite.py --fast            # everyday (under 5 minutes)
    python3.13 bench/suite.py                   # release numbers (pyperf defaults)
    python3.13 bench/suite.py --only nbody go   # some benchmarks
    python3.13 bench/suite.py --fast --hook-only  # the frame hook's own cost
    python3.13 bench/suite.py --fast --programs   # whole libraries (sympy, docutils, ...)

Each benchmark is pyperformance's own ``run_benchmark.py`` (from the
``pyperformance`` package on PyPI), run through pyperf one worker process at a
time, alternating plain and ``JITSAW=1`` (2 rounds of three values of at
least 50 ms in fast mode, which takes ~4.7 minutes here; 20 rounds with
pyperf's defaults in full mode), so that the machine's slow spells weigh on
both sides alike. For each it reports both (median) times, the
speed-up (plain / jitsaw), the JIT's compile time per bytecode instruction
and code bytes (from a single in-process run), and the peak RSS of both
runs; then the geometric mean. It writes ``results.md`` (a markdown table),
``results.png`` (a bar chart, if matplotlib is installed) and
``results.json`` to ``--out`` (``programs.*`` with ``--programs``).

``--hook-only`` runs the jitsaw side with ``JITSAW_CODE_LIMIT=0``: jitsaw's
PEP 523 frame evaluator is installed but compiles nothing, so the table
shows what the hook alone costs the interpreter (with a frame evaluator set,
CPython neither inlines Python-to-Python calls nor specializes them, nor
`SEND` and `FOR_ITER` over generators).

The interpreter running this script is the one measured; jitsaw, pyperf and
pyperformance must be installed in it (and ``pyaes`` for crypto_pyaes; a
benchmark that fails is reported and left out of the table).

``--programs`` runs pyperformance's benchmarks of whole libraries and
programs instead (``PROGRAMS``: sympy, sqlglot, docutils, html5lib, template
engines, tomli, argparse, pure-Python pickle, asyncio trees, a process and
a thread pool): big, call-heavy code whose functions each run a few
hundred times, where a JIT pays for what it compiles and for its frame
evaluator. Their libraries, at the versions pyperformance pins (newer
where the pinned one no longer runs on 3.13), are listed in
``bench/requirements-programs.txt``.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# CPU-bound pure-Python benchmarks with no dependencies beyond pyperf.
BENCHMARKS = [
    "nbody",
    "spectral_norm",
    "fannkuch",
    "float",
    "richards",
    "chaos",
    "raytrace",
    "deltablue",
    "go",
    "hexiom",
    "nqueens",
    "generators",
    "coroutines",
    "unpack_sequence",
    "pyflate",
    "deepcopy",
    "json_dumps",
    "pidigits",
    "meteor_contest",
    "comprehensions",
    "richards_super",
    "scimark",
    "crypto_pyaes",
    "logging",
    "pprint",
    "regex_compile",
    "async_generators",
    # Whole short runs (`python -m lib2to3 ...`, `python -c pass`), start-up
    # and compiling included.
    "2to3",
    "python_startup",
]

# Benchmarks of whole libraries and programs (``--programs``): name, then
# pyperformance's script directory and arguments where they differ.
PROGRAMS = {
    "sympy_expand": ("sympy", ["expand"]),
    "sympy_integrate": ("sympy", ["integrate"]),
    "sympy_sum": ("sympy", ["sum"]),
    "sympy_str": ("sympy", ["str"]),
    "sqlglot_v2_parse": ("sqlglot_v2", ["parse"]),
    "sqlglot_v2_transpile": ("sqlglot_v2", ["transpile"]),
    "sqlglot_v2_optimize": ("sqlglot_v2", ["optimize"]),
    "docutils": ("docutils", []),
    "html5lib": ("html5lib", []),
    "genshi": ("genshi", []),
    "chameleon": ("chameleon", []),
    "mako": ("mako", []),
    "tomli_loads": ("tomli_loads", []),
    "argparse_many_optionals": ("argparse", ["many_optionals"]),
    "argparse_subparsers": ("argparse", ["subparsers"]),
    "pickle_pure_python": ("pickle", ["--pure-python", "pickle"]),
    "unpickle_pure_python": ("pickle", ["--pure-python", "unpickle"]),
    "async_tree": ("async_tree", ["none"]),
    "async_tree_memoization": ("async_tree", ["memoization"]),
    "mdp": ("mdp", []),
    "bpe_tokeniser": ("bpe_tokeniser", []),
    "typing_runtime_protocols": ("typing_runtime_protocols", []),
    "concurrent_imap": ("concurrent_imap", []),
}

# In-process runner reporting the JIT's statistics after one value.
STATS_RUNNER = """
import json, os, runpy, sys
script, out = sys.argv[1], sys.argv[2]
sys.argv = [script, "--worker", "--debug-single-value", *sys.argv[3:]]
# As when the script is run itself: its directory first on the path (regex_compile
# imports its neighbours).
sys.path.insert(0, os.path.dirname(script))
try:
    runpy.run_path(script, run_name="__main__")
finally:
    import jitsaw
    with open(out, "w") as f:
        json.dump(jitsaw.stats(), f)
"""


def benchmark_command(name):
    """pyperformance's script for benchmark ``name`` and its arguments."""
    import pyperformance

    directory, arguments = PROGRAMS.get(name, (name, []))
    root = Path(pyperformance.__file__).parent / "data-files" / "benchmarks"
    script = root / f"bm_{directory}" / "run_benchmark.py"
    if not script.exists():
        raise SystemExit(f"bench/suite.py: pyperformance has no benchmark {name!r} ({script})")
    return [str(script), *arguments]


# Set for the jitsaw side on top of ``JITSAW=1`` (``--hook-only``).
JIT_ENV = {}


def environment(jit):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    if jit:
        env["JITSAW"] = "1"
        env.update(JIT_ENV)
    return env


def timed(name, mode, rounds, out_dir):
    """pyperf's results for one benchmark, plain and with jitsaw, and the
    peak RSS (bytes) of each: ``rounds`` pyperf worker processes per side,
    alternating plain and jitsaw, so that a slow spell of the machine
    weighs on both alike. ``None`` if a run failed."""
    outputs = {jit: out_dir / f"{name}.{'jit' if jit else 'plain'}.json" for jit in (False, True)}
    for output in outputs.values():
        output.unlink(missing_ok=True)
    rss = {False: 0, True: 0}
    for _ in range(rounds):
        for jit in (False, True):
            command = [sys.executable, *benchmark_command(name), "--quiet", "--processes=1"]
            command += ["--append", str(outputs[jit])]
            command += ["--inherit-environ", ",".join(["JITSAW", *JIT_ENV])] if jit else []
            command += mode
            proc = subprocess.Popen(command, env=environment(jit))
            _, status, usage = os.wait4(proc.pid, 0)
            if status != 0:
                return None
            rss[jit] = max(rss[jit], usage.ru_maxrss * 1024)
    import pyperf

    # Some scripts run several benchmarks (deepcopy: plain, reduce, memo):
    # their times are added up.
    totals = {jit: Total(pyperf.BenchmarkSuite.load(str(o)).get_benchmarks()) for jit, o in outputs.items()}
    return totals[False], totals[True], rss[False], rss[True]


class Total:
    """The benchmarks of one script as one: the sum of their times."""

    def __init__(self, benchmarks):
        self.benchmarks = benchmarks

    def mean(self):
        return sum(b.mean() for b in self.benchmarks)

    def median(self):
        """What the table reports: on a shared VM a few slow spells skew
        the mean of a handful of values, not their median."""
        return sum(b.median() for b in self.benchmarks)

    def stdev(self):
        """Standard deviation of the sum (the benchmarks taken as
        independent)."""
        return math.sqrt(sum(b.stdev() ** 2 if b.get_nvalue() > 1 else 0.0 for b in self.benchmarks))


def jit_stats(name):
    """jitsaw's statistics after one in-process run of the benchmark."""
    script, *arguments = benchmark_command(name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stats.json"
        subprocess.run(
            [sys.executable, "-c", STATS_RUNNER, script, str(out), *arguments],
            env=environment(True),
            check=True,
            capture_output=True,
        )
        return json.loads(out.read_text())


def write_chart(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = [r["name"] for r in rows]
    speedups = [r["speedup"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.5))
    colors = ["#2a7" if s >= 1 else "#c33" for s in speedups]
    ax.barh(names[::-1], speedups[::-1], color=colors[::-1])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over CPython 3.13 (plain time / jitsaw time)")
    ax.set_title(f"{'jitsaw (frame hook alone)' if JIT_ENV else 'jitsaw'} on pyperformance benchmarks")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def milliseconds(seconds):
    """A time in ms, with enough digits for micro-benchmarks."""
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms >= 0.1 else f"{ms:.5f}"


def write_table(rows, geomean, path, mode):
    """The markdown table of ``rows``, to ``path``."""
    what = "jitsaw's frame hook alone (JITSAW_CODE_LIMIT=0)" if JIT_ENV else "jitsaw"
    lines = [
        f"{what} vs CPython {sys.version.split()[0]} ({mode} mode), pyperformance benchmarks, "
        f"times are medians, speed-up = plain time / jitsaw time; ± is the relative standard deviation "
        f"pyperf measured.",
        "",
        "| benchmark | plain (ms) | jitsaw (ms) | speed-up | compile (µs/instr) | code compiled → kept (KiB) | RSS plain → jitsaw (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {milliseconds(r['plain_s'])} ± {r.get('plain_rsd', 0):.0%} | "
            f"{milliseconds(r['jit_s'])} ± {r.get('jit_rsd', 0):.0%} | {r['speedup']:.2f}× | "
            f"{r['compile_us_per_instruction']:.2f} | {r['code_kib']:.0f} → {r.get('code_kept_kib', 0):.0f} | "
            f"{r['plain_rss_mib']:.1f} → {r['jit_rss_mib']:.1f} |"
        )
    lines.append(f"| **geometric mean** | | | **{geomean:.2f}×** | | | |")
    path.write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="few values per benchmark (under 5 minutes)")
    parser.add_argument("--only", nargs="*", help="benchmarks to run (default: all listed)")
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for results")
    parser.add_argument(
        "--hook-only",
        action="store_true",
        help="jitsaw side with JITSAW_CODE_LIMIT=0: the frame hook's cost alone",
    )
    parser.add_argument(
        "--programs",
        action="store_true",
        help="benchmarks of whole libraries and programs (see bench/requirements-programs.txt)",
    )
    args = parser.parse_args()
    if args.hook_only:
        JIT_ENV["JITSAW_CODE_LIMIT"] = "0"
    try:
        import jitsaw  # noqa: F401
        import pyperf  # noqa: F401
        import pyperformance  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"bench/suite.py needs jitsaw, pyperf and pyperformance installed: {e}")
    names = args.only or (list(PROGRAMS) if args.programs else BENCHMARKS)
    for name in names:
        benchmark_command(name)
    # pyperf's defaults are 20 worker processes of 3 values after 1 warm-up.
    # Fast mode: two rounds of three values after one warm-up, each value
    # at least 50 ms (pyperf calibrates the loops to 100 ms by default).
    mode, rounds = (["--values=3", "--warmups=1", "--min-time=0.05"], 2) if args.fast else ([], 20)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    failed = []
    started = time.time()
    for name in names:
        began = time.time()
        result = timed(name, mode, rounds, out_dir)
        if result is None:
            # A missing dependency (crypto_pyaes needs `pyaes`) or a crash:
            # said, and left out of the table.
            print(f"{name:16} FAILED; left out", flush=True)
            failed.append(name)
            continue
        plain, jit, plain_rss, jit_rss = result
        stats = jit_stats(name)
        # An inlined callee's instructions are compiled in each caller.
        instructions = max(stats["instructions_compiled"] + stats["instructions_inlined"], 1)
        row = {
            "name": name,
            "plain_s": plain.median(),
            "jit_s": jit.median(),
            "speedup": plain.median() / jit.median(),
            "plain_rsd": plain.stdev() / plain.mean(),
            "jit_rsd": jit.stdev() / jit.mean(),
            "compile_us_per_instruction": stats["compile_time_ns"] / 1e3 / instructions,
            "code_kib": stats["code_bytes"] / 1024,
            # Superseded compilations are freed when no frame can run them.
            "code_kept_kib": stats["code_bytes_in_use"] / 1024,
            "plain_rss_mib": plain_rss / 2**20,
            "jit_rss_mib": jit_rss / 2**20,
        }
        rows.append(row)
        print(
            f"{name:16} plain {row['plain_s'] * 1e3:9.2f} ms  jitsaw {row['jit_s'] * 1e3:9.2f} ms  "
            f"{row['speedup']:5.2f}x  compile {row['compile_us_per_instruction']:5.2f} us/instr  "
            f"code {row['code_kib']:7.0f} -> {row['code_kept_kib']:6.0f} KiB  RSS {row['plain_rss_mib']:5.1f} -> {row['jit_rss_mib']:5.1f} MiB"
            f"  ({time.time() - began:.0f} s)",
            flush=True,
        )
    geomean = math.exp(sum(math.log(r["speedup"]) for r in rows) / len(rows))
    elapsed = time.time() - started
    print(f"{'geomean':16} {geomean:5.2f}x over {len(rows)} benchmarks ({elapsed:.0f}s)")
    # The programs' table beside the suite's, so that one `--out` holds both.
    stem = out_dir / ("programs" if args.programs else "results")
    stem.with_suffix(".json").write_text(json.dumps({"rows": rows, "geomean": geomean}, indent=2))
    mode = ("fast" if args.fast else "full") + (", programs" if args.programs else "")
    write_table(rows, geomean, stem.with_suffix(".md"), mode)
    if failed:
        print(f"failed: {' '.join(failed)}")
    if write_chart(rows, stem.with_suffix(".png")):
        print(f"chart: {stem.with_suffix('.png')}")
    print(f"table: {stem.with_suffix('.md')}")


if __name__ == "__main__":
    main()
