"""What the program-per-seed differential fuzzers share: running a program
plain and jitted (every function compiled at its first call, and after two
calls) and the command line (``--seed``, ``--count``, ``--show``,
``--out``). Each fuzzer supplies the program of a seed."""

import argparse
import os
import subprocess
import sys
from pathlib import Path


# Seconds a program may run: a generated program can make numbers that
# grow without bound (a product fed back into itself), too slow to finish.
TIMEOUT = 120


def run(source, env):
    """The program's output and exit status, run with `env` added; None if
    it ran past `TIMEOUT`."""
    try:
        proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "0", **env}, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    return proc.returncode, proc.stdout, proc.stderr


def main(doc, program, name):
    """Runs the fuzzer described by `doc` whose programs `program(seed)`
    makes, writing diverging ones as `{name}_divergence_{seed}_t{threshold}.py`;
    the exit status."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="first program number")
    parser.add_argument("--count", type=int, default=100, help="programs to run")
    parser.add_argument("--show", type=int, help="print one program and exit")
    parser.add_argument("--out", default=".", help="where to write diverging programs")
    args = parser.parse_args()
    if args.show is not None:
        print(program(args.show), end="")
        return 0
    plain = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    os.environ.clear()
    os.environ.update(plain)
    diverged = skipped = 0
    for seed in range(args.seed, args.seed + args.count):
        source = program(seed)
        expected = run(source, {})
        if expected is None:
            # Too slow plain: nothing to compare (a jitted run that times
            # out where the plain one finished is a divergence).
            skipped += 1
            print(f"program {seed} runs past {TIMEOUT} s plain; skipped")
            continue
        for threshold in ("0", "2"):
            if run(source, {"JITSAW": "1", "JITSAW_THRESHOLD": threshold}) != expected:
                diverged += 1
                path = Path(args.out) / f"{name}_divergence_{seed}_t{threshold}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(source)
                print(f"program {seed} diverges at threshold {threshold}: {path}")
    print(f"{args.count} programs, {diverged} divergences"
          + (f", {skipped} skipped (too slow plain)" if skipped else ""))
    return 1 if diverged else 0
