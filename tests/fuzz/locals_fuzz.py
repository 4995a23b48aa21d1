"""Differential fuzzer for what compiled code knows of a frame's locals:
random loops of int, float and other arithmetic on locals that type
propagation follows (constants, results, guards), while Python code writes
those locals through ``frame.f_locals`` (PEP 667) mid-loop — a callee, a
callee's callee, a ``__del__`` run by a plain store — with values of every
type. Plain and jitted runs (every function compiled at its first call, and
after two calls) must print exactly the same.

    python3.13 tests/fuzz/locals_fuzz.py --seed 1 --count 100      # CI batch
    python3.13 tests/fuzz/locals_fuzz.py --seed 7 --count 2000     # long mode
    python3.13 tests/fuzz/locals_fuzz.py --show 12                 # print program 12
"""

import random
import sys

from differential import main

NAMES = ["a", "b", "c", "d"]
START = ["0", "1", "2", "1.5", "0.25", "-3"]
VALUES = ["7", "2.5", "'x'", "None", "2**80", "(1,)", "True", "-0.0"]


def program(seed):
    """Program `seed`'s source."""
    r = random.Random(seed)
    lines = [
        "import sys",
        "def write(name, value, depth=2):",
        "    sys._getframe(depth).f_locals[name] = value",
        "class Finalized:",
        "    def __init__(self, name, value):",
        "        self.name, self.value = name, value",
        "    def __del__(self):",
        "        sys._getframe(1).f_locals[self.name] = self.value",
        "def f(n, at, name, value, how):",
    ]
    lines += [f"    {v} = {r.choice(START)}" for v in NAMES]
    lines += [
        "    o = None",
        "    out = []",
        "    for i in range(n):",
        "        if i == at:",
        "            if how == 0: write(name, value)",
        "            elif how == 1: (lambda: write(name, value, 3))()",
        "            elif how == 2: o = Finalized(name, value)",
        "        if i == at + 1: o = None",
    ]
    for _ in range(r.randint(2, 6)):
        t, x = r.choice(NAMES), r.choice(NAMES + ["i"])
        y = r.choice(NAMES + ["i", "1", "2.0"])
        op = r.choice(["+", "-", "*"])
        kind = r.random()
        if kind < 0.6:
            lines.append(f"        {t} = {x} {op} {y}")
        elif kind < 0.8:
            lines.append(f"        if {x} < {y}: {t} = {t} {op} 1")
        else:
            lines.append(f"        if {x}: {t} = {y}")
        # Keep numbers small enough to print the same way.
        lines.append(f"        if type({t}) is int and abs({t}) > 10**12: {t} = {t} % 1000")
        lines.append(f"        if type({t}) is float and abs({t}) > 1e12: {t} = 1.0")
        # ... and repeated strings and tuples short (`b = i * b` on `(1,)`).
        lines.append(f"        if type({t}) in (str, tuple) and len({t}) > 100: {t} = {t}[:3]")
    lines += [f"        out.append(({', '.join(NAMES)}))", "    return out[-3:]"]
    lines.append(f"values = [{', '.join(VALUES)}]")
    lines += [
        "for k in range(12):",
        "    for how in range(4):",
        "        try:",
        f"            print(k, how, f(15, k % 9, {r.choice(NAMES)!r}, values[k % {len(VALUES)}], how))",
        "        except Exception as e:",
        "            print(k, how, type(e).__name__, e)",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(__doc__, program, "locals"))
