"""Differential fuzzer for loops kept in machine words (`optimize::loops`):
random loops over ranges and `while` loops doing int and float arithmetic
on locals and constants (`+ - * // % / **`, swaps, branches on comparisons,
`break`, `continue`, `return`, calls in branches, one-line loops, nested
loops) and updates of a list's items (`v[0] -= x * 0.5`, by constant and
int-local indexes, in and out of range, items also held by a local), called
with values that fit words and with values that do not (big ints, bools,
floats where ints were seen, ints where floats were), with turns that
overflow, divide by zero or run out of range mid-loop. Plain and jitted
runs (every function compiled at its first call, and after two calls) must
print exactly the same, tracebacks included.

    python3.13 tests/fuzz/loops_fuzz.py --seed 1 --count 100      # CI batch
    python3.13 tests/fuzz/loops_fuzz.py --seed 7 --count 2000     # long mode
    python3.13 tests/fuzz/loops_fuzz.py --show 12                 # print program 12
"""

import random
import re
import sys

from differential import main

INTS = ["a", "b", "c"]
FLOATS = ["x", "y"]
INT_CONSTS = ["0", "1", "2", "3", "7", "-5", "1000003", "2**29"]
FLOAT_CONSTS = ["0.5", "1.5", "-0.25", "3.0", "1e300"]
# Arguments: fitting words first (the warm-up specializes on them), then
# the ones that leave.
INT_ARGS = ["1", "-3", "12", "2**40", "2**59", "2**61", "-(2**63)", "10**20", "True", "2.5"]
FLOAT_ARGS = ["0.5", "-1.25", "1e308", "float('inf')", "float('nan')", "-0.0", "3", "None"]


def int_expr(r, depth=0):
    """An int expression of the int locals, `i` and constants."""
    if depth > 2 or r.random() < 0.35:
        return r.choice(INTS + ["i"] + INT_CONSTS)
    op = r.choice(["+", "-", "*", "+", "-", "*", "//", "%"])
    if op == "*":
        # By a constant or `i` only: no turn squares a value (whose digits
        # would double every turn).
        return f"({int_expr(r, depth + 1)} * {r.choice(INT_CONSTS + ['i'])})"
    return f"({int_expr(r, depth + 1)} {op} {int_expr(r, depth + 1)})"


def float_expr(r, depth=0):
    """A float expression of the float locals, constants and `/` of ints."""
    if depth > 2 or r.random() < 0.35:
        k = r.random()
        if k < 0.6:
            return r.choice(FLOATS)
        if k < 0.8:
            return r.choice(FLOAT_CONSTS)
        return f"({int_expr(r, 2)} / {r.choice(INTS + ['i', '3'])})"
    op = r.choice(["+", "-", "*", "/", "**"])
    if op == "*":
        # By a constant only, as for ints (a float local may hold an int).
        return f"({float_expr(r, depth + 1)} * {r.choice(FLOAT_CONSTS + INT_CONSTS)})"
    if op == "**":
        # By a constant that makes an int a float (a float local may hold
        # an int, which squaring every turn would grow without end):
        # negative, zero and huge bases raise, give complex numbers or
        # overflow.
        return f"({float_expr(r, depth + 1)} ** {r.choice(['0.5', '-1.5', '-1', '2.0', '-2'])})"
    return f"({float_expr(r, depth + 1)} {op} {float_expr(r, depth + 1)})"


def condition(r):
    """A comparison of ints or of floats."""
    op = r.choice(["<", "<=", ">", ">=", "==", "!="])
    if r.random() < 0.6:
        return f"{int_expr(r, 1)} {op} {int_expr(r, 2)}"
    return f"{float_expr(r, 1)} {op} {float_expr(r, 2)}"


def statement(r, depth=0):
    """One statement of a loop's body: arithmetic, or (`depth` 0) a branch
    of more, possibly leaving the loop or calling something."""
    k = r.random()
    if depth == 0 and k < 0.3:
        inner = [statement(r, 1) for _ in range(r.randint(1, 2))]
        k = r.random()
        if k < 0.15:
            inner.append("break")
        elif k < 0.25:
            inner.append("return a, b, c, x, y, -1, v, w")
        elif k < 0.35:
            inner.append("continue")
        elif k < 0.5:
            inner.append(f"seen.append({r.choice(INTS + FLOATS)})")
        lines = [f"if {condition(r)}:"] + [f"    {s}" for s in inner]
        if r.random() < 0.4:
            lines += ["else:", f"    {statement(r, 1)}"]
        return "\n".join(lines)
    k = r.random()
    if k < 0.45:
        return f"{r.choice(INTS)} = {int_expr(r)}"
    if k < 0.75:
        return f"{r.choice(FLOATS)} = {float_expr(r)}"
    if k < 0.85:
        s, t = r.sample(INTS, 2)
        return f"{s}, {t} = {t}, {s} + {t}"
    if k < 0.88:
        return f"{r.choice(INTS)} = {r.choice(INTS)}"
    if k < 0.91:
        return f"x, y = y, x * {r.choice(FLOAT_CONSTS)}"
    if k < 0.98:
        index = r.choice(["0", "1", "2", "0", "1", "2", "-1", "3", "a", "i"])
        return f"v[{index}] {r.choice('+-*')}= {float_expr(r, 1)}"
    return f"w = v[{r.choice('012')}]"


def program(seed):
    """Program `seed`'s source."""
    r = random.Random(seed)
    lines = ["import traceback", "seen = []", "def f(n, m, a, b, c, x, y):", "    v, w = [x, y, 0.5], None"]
    body = [statement(r) for _ in range(r.randint(1, 4))]
    def indent(statements, by):
        return [by + line for s in statements for line in s.split("\n")]

    if r.random() < 0.25:
        # A `while` loop counting `i` itself first (a `continue` in the
        # body skips the rest), on its condition or leaving by `break`.
        lines.append("    i = 0")
        if r.random() < 0.5:
            lines.append("    while i < n:")
            lines += indent(["i = i + 1"] + body, "        ")
        else:
            lines.append("    while True:")
            lines += indent(["i = i + 1", "if i > n:", "    break"] + body, "        ")
    elif len(body) == 1 and "\n" not in body[0] and r.random() < 0.5:
        lines.append(f"    for i in range(n): {body[0]}")
    else:
        lines.append("    for i in range(n):")
        if r.random() < 0.25:
            lines.append("        for j in range(m):")
            lines += indent([re.sub(r"\bi\b", "j", s) for s in body], "            ")
        else:
            lines += indent(body, "        ")
    lines.append("    return a, b, c, x, y, i, v, w")
    warm_int, warm_float = r.choice(INT_ARGS[:3]), r.choice(FLOAT_ARGS[:2])
    lines += [
        "def show(*args):",
        "    try:",
        "        print(f(*args), seen[-3:], len(seen))",
        "    except Exception:",
        "        print(traceback.format_exc().splitlines()[-3:])",
        "for k in range(4):",
        f"    show(5, 3, {warm_int}, 2, 3, {warm_float}, 0.5)",
    ]
    for _ in range(12):
        ints = [r.choice(INT_ARGS) for _ in INTS]
        floats = [r.choice(FLOAT_ARGS) for _ in FLOATS]
        n = r.choice(["0", "1", "3", "20", "200"])
        lines.append(f"show({n}, {r.choice(['0', '2', '9'])}, {', '.join(ints + floats)})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(__doc__, program, "loops"))
