"""Runs jitsaw's benchmarks plain and with the JIT, alternating, and prints
each benchmark's times and speed-up, plus the geometric mean.

    python3.13 bench/run.py [--fast | --rigorous] [--only NAME ...] [--out DIR]

The JIT is switched on in pyperf's worker processes through JITSAW=1 (passed
with --inherit-environ; a `python -m jitsaw` wrapper would not reach them).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from micro import BENCHMARKS  # noqa: E402


def run_one(name, jit, args, out_dir):
    output = out_dir / f"{name}.{'jit' if jit else 'plain'}.json"
    output.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    if jit:
        env["JITSAW"] = "1"
    command = [sys.executable, str(HERE / "micro.py"), "--only", name, "--quiet", "-o", str(output)]
    command += ["--inherit-environ", "JITSAW"] if jit else []
    command += ["--fast"] if args.fast else ["--rigorous"] if args.rigorous else []
    subprocess.run(command, env=env, check=True)
    import pyperf

    return pyperf.Benchmark.load(str(output))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true", help="fewer runs, for everyday use")
    mode.add_argument("--rigorous", action="store_true", help="more runs, for release numbers")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="benchmarks to run")
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for pyperf JSON files")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    started = time.time()
    for name in args.only or BENCHMARKS:
        plain = run_one(name, False, args, out_dir)
        jit = run_one(name, True, args, out_dir)
        ratio = plain.mean() / jit.mean()
        rows.append((name, plain, jit, ratio))
        print(f"{name:12} plain {plain.mean() * 1e3:9.3f} ms  jitsaw {jit.mean() * 1e3:9.3f} ms  {ratio:5.2f}x", flush=True)
    geomean = math.exp(sum(math.log(r[3]) for r in rows) / len(rows))
    print(f"{'geomean':12} {'':42} {geomean:5.2f}x   ({time.time() - started:.0f}s)")
    summary = {r[0]: {"plain_s": r[1].mean(), "jit_s": r[2].mean(), "speedup": r[3]} for r in rows}
    summary["geomean"] = geomean
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
