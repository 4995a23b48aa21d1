"""Differential fuzzer for inlined calls: random classes whose methods compute
from their parameters and locals of their own (attribute reads, items of a
list or tuple attribute and its `len()`, `math` functions, int, float and
bool arithmetic, `/`, `//`, `%`, `&` and shifts, comparisons, `isinstance`,
`and`/`or`, tuples, branches, globals, calls of a getter and of the methods
before them, inlined in their inlined bodies in turn) and may store into
attributes and items (their inlined bodies have their frames made where they
leave after a store), called in loops with simple arguments (objects of one
class, or of two classes of other layouts taking turns at each call site),
and instances made there (`__init__` storing its arguments), so that their
callers' code runs them inlined; then the values change type (floats,
strings, big ints, ``None``, sequences too short or of other types, objects
of subclasses with other layouts or overriding methods), attributes are
deleted, globals (`len`, `sin` too) and `math.cos` rebound, methods,
``__init__`` and their ``__code__`` replaced, and tracing switched on, so
that inlined bodies leave for the real call at every point. Plain and
jitted runs (every function compiled at its first call, and after two
calls) must print exactly the same.

    python3.13 tests/fuzz/inline_fuzz.py --seed 1 --count 100      # CI batch
    python3.13 tests/fuzz/inline_fuzz.py --seed 7 --count 2000     # long mode
    python3.13 tests/fuzz/inline_fuzz.py --show 12                 # print program 12
"""

import random
import sys

from differential import main

ATTRS = ["x", "y", "z"]
PARAMS = ["u", "v"]
# What the attributes and globals become after the first phase, all ints.
VALUES = ["3", "-7", "2.5", "0", "1.0", "True", "2**70", "'s'", "None", "[1]", "-0.0"]
# What the sequence attribute becomes then.
SEQUENCES = ["[7]", "(1.5, 2, 3)", "'abc'", "{0: 1, 1: 2, 2: 3}", "[True, 2**70, -1]", "[]", "None"]


def num(r, depth=0):
    """A number from the method's parameters, attributes of `self` and of
    its first parameter, constants and globals (while they hold numbers)."""
    if depth > 1 or r.random() < 0.4:
        return r.choice([
            f"self.{r.choice(ATTRS)}", f"self.{r.choice(ATTRS)}", f"u.{r.choice(ATTRS)}", "v",
            r.choice(["1", "2", "-3"]), "LIMIT", "Const.K",
            f"self.s[{r.choice(['0', '1', '2', 'v % 3'])}]", "len(self.s)", "len(u.s)",
            "sin(v)", f"math.cos(self.{r.choice(ATTRS)})", "sqrt(len(self.s))",
            *LOCALS,
            *[f"self.{m}(u, v)" for m in CALLABLE[:1]],
        ])
    op = r.choice(['+', '-', '*', '+', '-', '*', '//', '%', '/', '&', '<<', '>>'])
    if op in ('<<', '>>'):
        # Counts of 0 to 7 (a count from a big int would make a huge one).
        return f"({num(r, depth + 1)} {op} ({num(r, depth + 1)} & 7))"
    return f"({num(r, depth + 1)} {op} {num(r, depth + 1)})"


def cond(r, depth=0):
    """A truth value from such numbers."""
    kind = r.random()
    if depth > 1 or kind < 0.55:
        return f"{num(r, 1)} {r.choice(['<', '<=', '==', '!=', '>', '>='])} {num(r, 1)}"
    if kind < 0.6:
        return f"isinstance({num(r, 1)}, {r.choice(['int', 'float', 'A', 'tuple', '(int, float)'])})"
    if kind < 0.9:
        return f"({cond(r, depth + 1)} {r.choice(['and', 'or'])} {cond(r, depth + 1)})"
    return f"not ({cond(r, depth + 1)})"


def expr(r):
    """A method's result: a number or a truth value."""
    return num(r) if r.random() < 0.6 else cond(r)


def store(r):
    """A store into an attribute of `self` or of the first parameter (or an
    augmented one), or into an item of its sequence, of a value read (not
    computed: values stay small over the calls)."""
    owner = r.choice(['self', 'self', 'u'])
    kind = r.random()
    if kind < 0.6:
        return f"{owner}.{r.choice(ATTRS)} = {num(r, 2)}"
    if kind < 0.8:
        return f"{owner}.{r.choice(ATTRS)} {r.choice(['+=', '-=', '^='])} {num(r, 2)}"
    return f"{owner}.s[{r.choice(['0', '1', 'v % 3'])}] = {num(r, 2)}"


# Methods defined before the current one, which it may call (inlined in
# its inlined body in turn).
CALLABLE = []


# The method's own locals assigned so far, which numbers may read.
LOCALS = []


def method(r, name):
    """A method of `self`, `u` and `v` computing one value, maybe with
    locals of its own, branches and several returns."""
    lines = [f"    def {name}(self, u, v):"]
    LOCALS.clear()
    for k in range(r.choice([0, 0, 1, 2])):
        lines.append(f"        w{k} = {num(r, 1)}")
        LOCALS.append(f"w{k}")
    if LOCALS and r.random() < 0.3:
        lines.append(f"        {LOCALS[0]} = {num(r, 1)}")
    if CALLABLE and r.random() < 0.5:
        lines.append(f"        c = self.{CALLABLE[0]}(u, v)")
        LOCALS.append("c")
    # Stores into attributes of `self` or `u`, before or between the
    # branches.
    stores = r.choice([0, 0, 1, 2])
    for _ in range(r.randint(0, 2)):
        if stores and r.random() < 0.5:
            stores -= 1
            lines.append(f"        {store(r)}")
        test = r.choice([f"self.{r.choice(ATTRS)} is None", "u is not None", cond(r, 1)])
        lines += [f"        if {test}:", f"            return {expr(r)}"]
    lines += [f"        {store(r)}" for _ in range(stores)]
    if r.random() < 0.2:
        lines.append(f"        return ({expr(r)}, {expr(r)})")
    else:
        lines.append(f"        return {expr(r)}")
    return lines


def program(seed):
    """Program `seed`'s source."""
    r = random.Random(seed)
    methods = ["m0", "m1", "m2"]
    lines = ["import sys", "import math", "from math import sin, sqrt", "LIMIT = 4",
             "class Const:", "    K = 2", "class A:"]
    lines.append("    def __init__(self, x, y, z):")
    lines.append("        self.x, self.y, self.z = x, y, z")
    # A getter the methods may call too, simple enough that a body calling
    # it has it inlined in turn.
    lines += ["    def get(self, u, v):", "        return u.x if v else self.y"]
    CALLABLE[:] = ["get"]
    for m in methods:
        lines += method(r, m)
        CALLABLE.insert(r.randrange(2), m)
    CALLABLE.clear()
    LOCALS.clear()
    # Binary operators' methods (inlined where both operands are of the
    # class), now and then giving up with `NotImplemented`.
    for dunder in ("__sub__", "__mul__"):
        lines += [f"    def {dunder}(self, u):", "        v = 2"]
        if r.random() < 0.3:
            lines += [f"        if {cond(r, 1)}:", "            return NotImplemented"]
        lines.append(f"        return {num(r)}")
    lines += [
        "class B(A):",
        "    def __init__(self, x, y, z):",
        "        self.pad = 0",
        "        super().__init__(z, y, x)",
        "class C(A):",
        f"    def {r.choice(methods)}(self, u, v):",
        "        return ('override', v)",
        # Other layouts the first phase may mix at one call site: slots,
        # and a class attribute standing in for a value never stored.
        "class S(A):",
        "    __slots__ = ('x', 'y', 'z')",
        "class D(A):",
        "    z = 6",
        "    def __init__(self, x, y, z):",
        "        self.x, self.y = x, y",
        "def show(v):",
        "    if type(v) is tuple: return tuple(show(x) for x in v)",
        "    if isinstance(v, A): return type(v).__name__",
        "    if type(v) is float: return round(v, 6)",
        "    if type(v) is int and abs(v) > 10**30: return v % 1000",
        "    return v",
        "def run(a, b, n):",
        "    out = []",
        "    for i in range(n):",
    ]
    for _ in range(r.randint(2, 4)):
        m = r.choice(methods)
        args = r.choice(["b, i", "a, i", "b, n", "a, 3"])
        target = r.choice(["a", "b"])
        lines.append(f"        out.append(show({target}.{m}({args})))")
    for _ in range(r.randint(0, 2)):
        x, y = r.choice(["a", "b"]), r.choice(["a", "b"])
        lines.append(f"        out.append(show({x} {r.choice(['-', '*'])} {y}))")
    # Instances made in the loop: `A`'s `__init__` inlined too.
    lines.append(f"        out.append(show(A(i, {r.choice(['2', 'n', 'b.y', 'LIMIT'])}, 3).{r.choice(ATTRS)}))")
    lines += ["    return out[-4:]", "def guarded(a, b, n):", "    try:",
              "        return run(a, b, n)", "    except Exception as e:",
              "        return type(e).__name__"]
    values = [r.choice(VALUES) for _ in range(6)]
    lines += [
        f"a, b = A(3, 4, 5), {r.choice(['A', 'A', 'B', 'S', 'D'])}(1, 2, 6)",
        f"a.s, b.s = {r.choice(['[1, 2, 3]', '(1, 2, 3)'])}, {r.choice(['[4, 5, 6]', '(4, 5, 6)'])}",
        # Taking turns, each call site sees both objects' classes.
        f"turns = {r.choice(['False', 'True'])}",
        "for k in range(25):",
        "    print(k, guarded(b, a, 30) if turns and k % 2 else guarded(a, b, 30))",
        # Phase 2: whatever can make an inlined body leave.
        f"a.x = {values[0]}",
        "print('x', guarded(a, b, 5))",
        f"b.y = {values[1]}",
        "print('y', guarded(a, b, 5))",
        f"a.s = {r.choice(SEQUENCES)}",
        "print('s', guarded(a, b, 5))",
        f"b.s = {r.choice(SEQUENCES)}",
        "print('s', guarded(a, b, 5))",
        "len = lambda s: 2",
        "print('len', guarded(a, b, 5))",
        "del len",
        "sin, math.cos = (lambda x: 'sin'), (lambda x: 'cos')",
        "print('math', guarded(a, b, 5))",
        "print('B', guarded(B(1, 2, 3), b, 5), guarded(a, B(4, 5, 6), 5))",
        "print('C', guarded(C(1, 2, 3), b, 5))",
        "del a.z",
        "print('del', guarded(a, b, 5))",
        f"A.__init__ = lambda self, x, y, z: setattr(self, 'x', {values[0]}) or setattr(self, 'y', y) or setattr(self, 'z', z)",
        "print('init', guarded(a, b, 5))",
        "a.z = 1",
        f"LIMIT = {values[2]}",
        "print('LIMIT', guarded(a, b, 5))",
        f"Const.K = {values[3]}",
        "print('K', guarded(a, b, 5))",
        f"A.{r.choice(methods)}.__code__ = (lambda self, u, v: (u, v)).__code__",
        "print('code', guarded(a, b, 5))",
        f"A.{r.choice(methods)} = lambda self, u, v: 'replaced'",
        "print('replaced', guarded(a, b, 5))",
        "calls = []",
        "sys.setprofile(lambda f, e, arg: calls.append((e, f.f_code.co_name)) if e == 'call' else None)",
        "print('profiled', guarded(a, b, 3))",
        "sys.setprofile(None)",
        "print(len(calls), calls[:6])",
        f"a.x, b.y = {values[4]}, {values[5]}",
        "for k in range(5):",
        "    print('again', k, guarded(a, b, 30))",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(__doc__, program, "inline"))
