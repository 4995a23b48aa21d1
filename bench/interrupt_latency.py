"""How soon a signal handler runs while a jitted loop spins: the delay
between a timer signal's delivery and its Python handler, plain and under
jitsaw, for a few kinds of loop (Ctrl-C is SIGINT, handled the same way).

    python3.13 bench/interrupt_latency.py [--rounds N]

Prints per loop kind the median and worst delay in milliseconds.
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, signal, sys, time

LOOPS = {}

def loop(fn):
    LOOPS[fn.__name__] = fn
    return fn

class Stop(Exception):
    pass

@loop
def int_add():
    x = 0
    while True:
        x += 1

@loop
def float_mul():
    x = 1.0
    while True:
        x = x * 1.0000001 + 0.5

@loop
def calls():
    def f(a, b):
        return a + b
    x = 0
    while True:
        x = f(x, 1)

@loop
def list_walk():
    data = list(range(1000))
    while True:
        t = 0
        for v in data:
            t += v

def measure(fn, rounds, delay=0.02):
    delays = []
    fired = []
    def handler(signum, frame):
        fired.append(time.perf_counter())
        raise Stop
    signal.signal(signal.SIGALRM, handler)
    for _ in range(rounds):
        armed = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, delay)
        try:
            fn()
        except Stop:
            pass
        delays.append(fired[-1] - armed - delay)
    return delays

rounds = int(sys.argv[1])
print(json.dumps({name: measure(fn, rounds) for name, fn in LOOPS.items()}))
"""


def run(jit, rounds):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    if jit:
        env["JITSAW"] = "1"
    out = subprocess.run([sys.executable, "-c", CHILD, str(rounds)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    plain, jit = run(False, args.rounds), run(True, args.rounds)
    print(f"{'loop':<12} {'plain median':>13} {'plain worst':>12} {'jit median':>11} {'jit worst':>10}   (ms)")
    for name in plain:
        p, j = sorted(plain[name]), sorted(jit[name])
        print(f"{name:<12} {p[len(p) // 2] * 1e3:>13.3f} {p[-1] * 1e3:>12.3f} "
              f"{j[len(j) // 2] * 1e3:>11.3f} {j[-1] * 1e3:>10.3f}")


if __name__ == "__main__":
    main()
