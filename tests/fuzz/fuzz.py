"""Differential fuzzer: random but valid Python programs, run plain and under
jitsaw (every function compiled at its first call, deopts forced at random
points with ``JITSAW_CHAOS``), must print exactly the same.

    python3.13 tests/fuzz/fuzz.py --seed 1 --count 500        # CI batch
    python3.13 tests/fuzz/fuzz.py --seed 7 --count 10000      # long mode
    python3.13 tests/fuzz/fuzz.py --show 1234                 # print program 1234

Each program is a few functions exercising ints near overflow boundaries,
floats with nan/inf, mixed types, loops, branches, exceptions, generators,
calls (with keyword arguments too), a property and methods that only return
a parameter or a constant or compute from their parameters (inlined),
subscripts, calls, ``len()``, truth and ``in`` tests of instances and loops
over an iterator whose class defines the methods in Python, a class with ``__slots__`` and
``__init__`` defaults (made with keywords too), and attribute access on
classes that change while it runs. Programs are grouped into batches (one process each);
a diverging batch is narrowed
down to the first diverging program, which is written to ``--out`` as a
ready-made regression test.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

INTS = [0, 1, -1, 2, 3, 7, 255, 256, 2**15, 2**30 - 1, 2**30, -(2**30), 2**31, 2**32 + 1,
        2**62, 2**63 - 1, -(2**63), 2**64, 10**20, -(10**19)]
FLOATS = ["0.0", "-0.0", "1.5", "-2.25", "1e308", "-1e308", "float('inf')", "float('-inf')",
          "float('nan')", "1e-300", "3.141592653589793"]
STRS = ["''", "'a'", "'abc'", "'xyz' * 3", "'é'"]
CMPOPS = ["<", "<=", "==", "!=", ">", ">="]
# Forced-deopt periods, batch by batch (0: none).
CHAOS_PERIODS = [0, 37, 211, 997]


INT_OPS = ["+", "-", "*", "//", "%", "<<", ">>", "&", "|", "^"]
FLOAT_OPS = ["+", "-", "*", "/", "//", "%"]


class Gen:
    """Programs over three variables: ``x`` and ``y`` hold ints, ``z`` a
    float; now and then a value of another type is assigned (so
    specializations fail and exceptions happen), but mostly the arithmetic
    runs long enough to be compiled and specialized."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.lines = []
        self.depth = 0

    def emit(self, line):
        self.lines.append("    " * self.depth + line)

    def pick(self, xs):
        return self.r.choice(xs)

    def int_atom(self, names):
        ints = [n for n in names if n != "z"]
        if ints and self.r.random() < 0.6:
            return self.pick(ints)
        return str(self.pick(INTS))

    def float_atom(self, names):
        c = self.r.random()
        if "z" in names and c < 0.5:
            return "z"
        if c < 0.8:
            return self.pick(FLOATS)
        return self.int_atom(names)

    def expr(self, names, kind="int", depth=0):
        c = self.r.random()
        if depth > 2 or c < 0.3:
            if kind == "any" and self.r.random() < 0.5:
                return self.pick(STRS + ["None", "(1, 2)", "[3]"])
            return self.float_atom(names) if kind == "float" else self.int_atom(names)
        sub = kind if kind != "any" else self.pick(["int", "float"])
        if c < 0.75:
            op = self.pick(FLOAT_OPS if sub == "float" else INT_OPS)
            left = self.expr(names, sub, depth + 1)
            right = self.expr(names, sub, depth + 1)
            if op in ("<<", ">>"):
                right = str(self.r.randint(0, 70))
            elif op in ("//", "%", "/") and self.r.random() < 0.8:
                right = f"({right} or 7)"
            return f"({left} {op} {right})"
        if c < 0.85:
            cmp = self.pick(CMPOPS)
            return f"({self.expr(names, sub, depth + 1)} {cmp} {self.expr(names, sub, depth + 1)})"
        if c < 0.9:
            return f"(-{self.expr(names, sub, depth + 1)})"
        if c < 0.95:
            cond = self.expr(names, "int", depth + 1)
            a, b = self.expr(names, sub, depth + 1), self.expr(names, sub, depth + 1)
            return f"({a} if {cond} else {b})"
        return f"abs({self.expr(names, sub, depth + 1)})"

    def assign(self, names):
        name = self.pick(["x", "y", "z"])
        if self.r.random() < 0.04:
            kind = "any"
        else:
            kind = "float" if name == "z" else "int"
        return f"{name} = c({self.expr(names, kind)})"

    def statement(self, names, out):
        c = self.r.random()
        if c < 0.35 or self.depth > 3:
            self.emit(self.assign(names))
        elif c < 0.45 and self.r.random() < 0.08:
            # Unpacking a tuple, list or other sequence of any length into
            # locals, consecutive ones (first bound here) or not, then old
            # values of them overwritten.
            a, b, f = self.expr(names, "int"), self.expr(names, "int"), self.expr(names, "float")
            seq = self.pick([f"({a}, {b}, {f})", f"[{a}, {b}, {f}]", f"[{a}, {b}]", f"({a}, {b}, {f}, {a})",
                             "'abc'", f"iter([{a}, {b}, {f}])", f"range({a} % 5)"])
            targets = self.pick(["u1, u2, u3", "u3, u1, u2", "u2, u2, u1"])
            self.emit("try:")
            self.depth += 1
            self.emit(f"s = {seq}")
            self.emit(f"{targets} = s")
            self.emit(f"{out}.append((u1, u2, u3))")
            self.emit(f"u1, u2, u3 = s = {seq}")
            self.emit(f"{out}.append((u1, u3))")
            self.depth -= 1
            self.emit("except (TypeError, ValueError, NameError, UnboundLocalError) as e:")
            self.depth += 1
            self.emit(f"{out}.append(type(e).__name__)")
            self.depth -= 1
        elif c < 0.45 and self.r.random() < 0.3:
            # Slices and subscripts, negative ones among them, of lists,
            # tuples, strs and bytes (and a list's slice assigned).
            seq = self.pick(["[1, 2, 3, 4, 5]", "(1, 2, 3)", "'abcdef'", "b'xyz'", "[x, y, z]", "(x,)"])
            lo = self.pick(["None", self.expr(names, "int"), self.expr(names, "any")])
            hi = self.pick(["None", self.expr(names, "int"), str(self.r.randint(-6, 6))])
            k = self.pick([str(self.r.randint(-6, 5)), self.expr(names, "int")])
            self.emit("try:")
            self.depth += 1
            self.emit(f"s = {seq}")
            self.emit(f"{out}.append(s[{lo}:{hi}])")
            self.emit(f"{out}.append(s[{k}])")
            self.emit("s = list(s)")
            self.emit(f"s[{lo}:{hi}] = {self.pick([seq, '(x, y)', '[]', 'iter([z])', 'x'])}")
            self.emit(f"s[{k}] = y")
            self.emit(f"{out}.append(s)")
            self.depth -= 1
            self.emit("except (TypeError, IndexError, ValueError) as e:")
            self.depth += 1
            self.emit(f"{out}.append(str(e))")
            self.depth -= 1
        elif c < 0.45:
            self.emit(f"{out}.append({self.expr(names, self.pick(['int', 'float']))})")
        elif c < 0.6:
            n = self.r.randint(0, 40)
            i = f"i{self.depth}"
            if self.r.random() < 0.15:
                # Past a C long on some calls only: the loop's code meets
                # both kinds of range iterator (the body sees small values).
                v = self.r.choice(names)
                big = self.r.choice(["2**63 - 3", "2**64", "-2**63 - 9"])
                self.emit(f"b{self.depth} = {big} if type({v}) is int and {v} % 2 else 0")
                self.emit(f"for {i} in range(b{self.depth}, b{self.depth} + {n}):")
                self.depth += 1
                self.emit(f"{i} = {i} - b{self.depth - 1}")
                self.depth -= 1
            else:
                self.emit(f"for {i} in range({n}):")
            self.block(names + [i], out)
        elif c < 0.7:
            self.emit(f"if {self.expr(names, 'int')}:")
            self.block(names, out)
            self.emit("else:")
            self.block(names, out)
        elif c < 0.8:
            self.emit("try:")
            self.block(names, out)
            self.emit(f"except {self.pick(['ArithmeticError', 'TypeError', 'ValueError', 'Exception'])} as e:")
            self.depth += 1
            self.emit(f"{out}.append(type(e).__name__)")
            self.depth -= 1
        elif c < 0.87:
            self.emit("n = 0")
            self.emit(f"while n < {self.r.randint(0, 30)}:")
            self.depth += 1
            self.emit("n += 1")
            self.emit(self.assign(names + ["n"]))
            self.depth -= 1
        elif c < 0.9:
            self.emit(f"obj.{self.pick(['a', 'b'])} = {self.expr(names, self.pick(['int', 'float', 'any']))}")
            self.emit(f"{out}.append(obj.a)")
            self.emit(f"{out}.append((obj.p, obj.me() is obj, obj.second(x, {self.expr(names, 'any')}), obj.nothing()))")
            u, v = self.pick(names), self.pick(names)
            self.emit(f"{out}.append(obj.both({u}, {v}))")
            self.emit(f"{out}.append(obj.calc({u}))")
            self.emit(f"{out}.append((obj[{u}], obj({u}), obj({u}, {v}), {u} in obj))")
            self.emit(f"obj[{u}] = {v}")
            self.emit(f"{out}.append((len(store), len(obj), 't' if obj else 'f'))")
            self.emit(f"for w in It({self.r.randint(0, 4)}):")
            self.emit(f"    {out}.append(w)")
        elif c < 0.91:
            if self.r.random() < 0.5:
                self.emit(f"{out}.extend(gen({self.expr(names, 'any')}, {self.r.randint(0, 5)}))")
            else:
                # Iterating an object whose class's `__iter__` is a generator.
                self.emit("for v in obj:")
                self.emit(f"    {out}.append(v)")
        elif c < 0.92:
            # A chain of `yield from`s, values sent down it.
            sends = ", ".join(self.expr(names, "int") for _ in range(self.r.randint(0, 4)))
            chain = f"chain({self.expr(names, 'any')}, {self.r.randint(0, 5)}, {self.r.randint(0, 6)})"
            self.emit(f"{out}.extend(drive({chain}, [{sends}]))")
        elif c < 0.94:
            # Calls: a helper that may raise, recursion, a closure.
            self.emit(f"x = c(helper({self.expr(names, 'int')}, {self.expr(names, 'any')}))")
            self.emit(f"{out}.append(rec({self.r.randint(0, 12)}))")
            # A class with __slots__ (its instances made and its __init__
            # entered by the caller's compiled code), whose __init__ may raise.
            self.emit("try:")
            a, b = self.expr(names, 'any'), self.expr(names, 'any')
            args = self.pick([a, f"{a}, {b}", f"u={a}", f"{a}, v={b}", f"v={b}, u={a}", f"w={a}"])
            self.emit(f"    {out}.append(Pt({args}).both())")
            self.emit("except TypeError as e:")
            self.emit(f"    {out}.append(str(e))")
        elif c < 0.95:
            # Calls that bind keywords, keyword-only parameters, *args and
            # **kwargs (and fail to bind), positional calls of functions
            # taking *args or **kwargs.
            a, b = self.expr(names, "int"), self.expr(names, "any")
            self.emit("try:")
            self.depth += 1
            self.emit(f"{out}.append(" + self.pick([
                f"kw({a}, k={b})",
                f"kw(a={a}, b={b})",
                f"kw({a}, {b}, {a}, more=1)",
                f"kw(*[{a}], **{{'k': {b}}})",
                f"ko({a})",
                f"ko({a}, k={b})",
                f"ko(k={b})",
                f"kw({a}, a={b})",
                f"st({a})",
                f"st({a}, {b})",
                f"st({a}, {b}, {a})",
                f"st()",
                f"sv()",
                f"sv({a}, {b})",
                f"sk({a})",
                f"sk({a}, {b})",
            ]) + ")")
            self.depth -= 1
            self.emit("except TypeError as e:")
            self.depth += 1
            self.emit(f"{out}.append(str(e))")
            self.depth -= 1
        elif c < 0.96:
            self.emit(f"table[{self.expr(names, 'int')} % 5] = {self.expr(names, 'float')}")
            self.emit(f"{out}.append(sorted(table.items())[:2])")
            self.emit(f"{out}.append([v * 2 for v in (x, y) if v])")
            # Builtins consuming generator expressions (resumed directly),
            # some raising midway.
            a, n = self.expr(names, "any"), self.expr(names, "int")
            self.emit("try:")
            self.emit(f"    {out}.append(" + self.pick([
                f"tuple(c(v) for v in gen({a}, {n} % 5))",
                f"list(v for v in (x, y, {a}) if v)",
                f"sorted(set(type(v).__name__ for v in (x, y, z, {a})))",
                f"tuple(c(v * 2) for v in range({n} % 7))",
                f"set(v % 3 for v in range({n} % 9))",
                f"list(1 // v for v in (x, {n}, y))",
                f"set([v] if v == 2 else v for v in range({n} % 5))",
                f"any(v > {n} for v in gen({a}, {n} % 5) if type(v) is int)",
                f"all(c(v) for v in (x, y, {a}))",
                f"'-'.join(str(v) for v in (x, y, {a}))",
                f"''.join(v for v in (x, y, {a}))",
                f"min(v for v in (x, y, z, {a}))",
                f"max(c(v) for v in gen({a}, {n} % 4))",
                f"sorted(v % 5 for v in range({n} % 8))",
                f"min(v for v in range({n} % 3) if v > 5)",
            ]) + ")")
            self.emit("except (ZeroDivisionError, TypeError, ValueError) as e:")
            self.emit(f"    {out}.append(type(e).__name__)")
        elif c < 0.98:
            self.emit("with Ctx(out):")
            self.block(names, out)
        else:
            self.emit("try:")
            self.block(names, out)
            self.emit("finally:")
            self.depth += 1
            self.emit(f"{out}.append(f'{{x}}:{{y!r}}:{{z:.3}}')")
            self.depth -= 1

    def block(self, names, out):
        self.depth += 1
        for _ in range(self.r.randint(1, 3)):
            self.statement(names, out)
        self.depth -= 1

    def program(self, index):
        self.lines = []
        self.emit(f"def prog{index}():")
        self.depth = 1
        self.emit("class K:")
        self.emit("    a = 1")
        self.emit("    b = 2.5")
        # A property (entered directly from compiled code) and methods
        # whose body only returns a parameter or a constant (no frame).
        self.emit("    @property")
        self.emit("    def p(self):")
        self.emit("        return self.a")
        self.emit("    def me(self):")
        self.emit("        return self")
        self.emit("    def second(self, u, v):")
        self.emit("        return v")
        self.emit("    def nothing(self):")
        self.emit("        return None")
        # Methods computing from their parameters alone, inlined in their
        # callers; attributes and arguments of any type make their guards
        # fail, and errors raise from the real call.
        self.emit("    def calc(self, u):")
        self.emit("        if self.a is None:")
        self.emit("            return u")
        self.emit("        return self.a * u + self.b if self.a < 10 else self.b - u")
        self.emit("    def both(self, u, v):")
        self.emit("        return u < v or (self.b == v and not u)")
        self.emit("    def __iter__(self):")
        self.emit("        yield self.a")
        self.emit("        yield from gen(self.b, 2)")
        # Subscripts, calls, `in` tests of instances and loops over an
        # iterator, whose methods compiled code runs directly.
        self.emit("    def __getitem__(self, k):")
        self.emit("        return (self.a, k) if type(k) is int else self.b")
        self.emit("    def __setitem__(self, k, v):")
        self.emit("        store[k % 5 if type(k) is int else 0] = v")
        self.emit("    def __call__(self, u, v=1):")
        self.emit("        return u if self.a is None else (u, v, self.a)")
        self.emit("    def __contains__(self, u):")
        self.emit("        return u == self.a or u == self.b")
        self.emit("    def __len__(self):")
        self.emit("        return len(store)")
        self.emit("class It:")
        self.emit("    def __init__(self, n):")
        self.emit("        self.n = n")
        self.emit("        self.i = 0")
        self.emit("    def __iter__(self):")
        self.emit("        return self")
        self.emit("    def __next__(self):")
        self.emit("        if self.i >= self.n:")
        self.emit("            raise StopIteration")
        self.emit("        self.i += 1")
        self.emit("        return self.i * self.n")
        self.emit("obj = K()")
        self.emit("def c(v):")
        self.emit("    if type(v) is int and not -(2**200) < v < 2**200:")
        self.emit("        return v % 2**64")
        self.emit("    if type(v) is str and len(v) > 1000:")
        self.emit("        return v[:1000]")
        self.emit("    return v")
        self.emit("def gen(x, n):")
        self.emit("    for k in range(n):")
        self.emit("        yield (x, k) if k % 2 else k")
        self.emit("def chain(x, n, d):")
        self.emit("    if d:")
        self.emit("        got = yield from chain(x, n, d - 1)")
        self.emit("        yield ('returned', d, got)")
        self.emit("        return got")
        self.emit("    total = 0")
        self.emit("    for k in range(n):")
        self.emit("        sent = yield (x, k) if k % 2 else k")
        self.emit("        if type(sent) is int:")
        self.emit("            total += sent % 1000")
        self.emit("    return total")
        self.emit("def drive(g, sends):")
        self.emit("    got = []")
        self.emit("    try:")
        self.emit("        got.append(next(g))")
        self.emit("        for v in sends:")
        self.emit("            got.append(g.send(v))")
        self.emit("        got.extend(g)")
        self.emit("    except StopIteration as e:")
        self.emit("        got.append(('stop', e.value))")
        self.emit("    return got")
        self.emit("def helper(a, b):")
        self.emit(f"    if a % {self.r.randint(2, 9)} == 0:")
        self.emit("        raise ValueError(a)")
        self.emit("    return a + (b if type(b) is int else 1)")
        self.emit("def rec(n):")
        self.emit("    return n if n < 2 else rec(n - 1) + rec(n - 2)")
        self.emit("def kw(a, b=2, *rest, k=3, **more):")
        self.emit("    return (a, b, rest, k, sorted(more))")
        self.emit("def ko(a, *, k=1):")
        self.emit("    return (a, k)")
        # Positional calls of these bind their stars in compiled code.
        self.emit("def st(a, *rest, **more):")
        self.emit("    more['n'] = len(rest)")
        self.emit("    return (a, rest, sorted(more.items()))")
        self.emit("def sv(*args):")
        self.emit("    return args[-1:] + args[:1]")
        self.emit("def sk(a, **more):")
        self.emit("    return (a, more)")
        self.emit("class Pt:")
        self.emit("    __slots__ = ('u', 'v')")
        self.emit("    def __init__(self, u, v=-1):")
        self.emit("        self.u = c(u)")
        self.emit("        if type(v) is str:")
        self.emit("            raise TypeError(v[:20])")
        self.emit("        self.v = c(v)")
        self.emit("    def both(self):")
        self.emit("        return (self.u, self.v)")
        self.emit("class Ctx:")
        self.emit("    def __init__(self, out):")
        self.emit("        self.out = out")
        self.emit("    def __enter__(self):")
        self.emit("        self.out.append('enter')")
        self.emit("    def __exit__(self, t, v, tb):")
        self.emit("        self.out.append(('exit', t and t.__name__))")
        self.emit(f"        return {self.pick(['True', 'False'])}")
        self.emit("table = {}")
        self.emit("store = {}")
        names = ["x", "y", "z"]
        self.emit("def body(x, y, z, out):")
        self.depth += 1
        for _ in range(self.r.randint(2, 6)):
            self.statement(names, "out")
        self.emit("return x, y, z")
        self.depth -= 1
        self.emit("results = []")
        self.emit(f"for call in range({self.r.randint(1, 6)}):")
        self.depth += 1
        args = ", ".join([self.int_atom([]), self.int_atom([]), self.float_atom([])])
        self.emit("out = []")
        self.emit("try:")
        self.emit(f"    results.append((body({args}, out), out))")
        self.emit("except Exception as e:")
        self.emit("    results.append((type(e).__name__, str(e)[:80], out))")
        self.emit("if call == 2:")
        self.emit("    K.a = 'changed'")
        self.emit("    obj.__class__ = type('K2', (K,), {'b': 0})")
        self.emit("if call == 3:")
        self.emit("    K.p = property(lambda s: ('redefined', s.b))")
        self.emit("    K.second = lambda s, u, v: (u, v)")
        self.emit("    K.__getitem__ = lambda s, k: ('redefined', k)")
        self.emit("    K.__call__ = lambda s, *a: len(a)")
        self.emit("    del K.__contains__")
        self.emit("    K.__len__ = lambda s: len(store) - 3")
        self.emit("    It.__next__ = lambda s: s.__dict__.pop('n')")
        self.depth -= 1
        self.emit("return results")
        return "\n".join(self.lines)


def program(index):
    return Gen(index).program(index)


def batch_source(indices):
    parts = [program(i) for i in indices]
    parts.append("import sys")
    parts.append("for p in (%s,):" % ", ".join(f"prog{i}" for i in indices))
    parts.append("    try:")
    parts.append("        print(p.__name__, repr(p()))")
    parts.append("    except Exception as e:")
    parts.append("        print(p.__name__, 'raised', type(e).__name__)")
    return "\n".join(parts) + "\n"


# JITSAW_THRESHOLD of the jitted runs (`--threshold`): "default" leaves
# jitsaw's own policy (warm-ups, waiting, recompilations).
THRESHOLD = "0"


def run(source, jit, chaos):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    env["PYTHONHASHSEED"] = "0"
    if jit:
        # JITSAW_DEBUG: compiled code also checks its stack depth before
        # every micro-op, so a miscompiled depth aborts loudly.
        env.update(JITSAW="1", JITSAW_DEBUG="1")
        if THRESHOLD != "default":
            env["JITSAW_THRESHOLD"] = THRESHOLD
        if chaos:
            env["JITSAW_CHAOS"] = str(chaos)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    try:
        proc = subprocess.run(
            [sys.executable, f.name],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        # A miscompiled loop may never end: a divergence like any other
        # (unless the plain run does not end either).
        return None, "timed out", ""
    finally:
        os.unlink(f.name)
    return proc.returncode, proc.stdout, proc.stderr


def limit_memory():
    """Huge values (a string times a big int) fail with MemoryError alike."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def check(indices, chaos):
    """None if the batch agrees, else a description of the first difference."""
    source = batch_source(indices)
    plain = run(source, False, 0)
    jitted = run(source, True, chaos)
    if plain == jitted:
        return None
    return plain, jitted


def narrow(indices, chaos):
    """The first program of a diverging batch that diverges alone."""
    for i in indices:
        if check([i], chaos) is not None:
            return i
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="first program number")
    parser.add_argument("--count", type=int, default=500, help="programs to run")
    parser.add_argument("--batch", type=int, default=50, help="programs per process")
    parser.add_argument(
        "--chaos",
        type=int,
        help="JITSAW_CHAOS period (0: no forced deopts; default: varies by batch)",
    )
    parser.add_argument(
        "--threshold",
        default="0",
        help="JITSAW_THRESHOLD of the jitted runs, or 'default' for jitsaw's own policy (default 0)",
    )
    parser.add_argument("--show", type=int, help="print one program and exit")
    parser.add_argument("--out", default=".", help="where to write diverging programs")
    args = parser.parse_args()
    if args.threshold != "default" and not args.threshold.isdigit():
        parser.error(f"--threshold must be a count or 'default', got {args.threshold!r}")
    global THRESHOLD
    THRESHOLD = args.threshold
    if args.show is not None:
        print(batch_source([args.show]))
        return 0
    failures = []
    start = args.seed * 1_000_000
    indices = list(range(start, start + args.count))
    for b in range(0, len(indices), args.batch):
        batch = indices[b : b + args.batch]
        chaos = args.chaos if args.chaos is not None else CHAOS_PERIODS[(b // args.batch) % len(CHAOS_PERIODS)]
        diff = check(batch, chaos)
        if diff is None:
            continue
        culprit = narrow(batch, chaos)
        if culprit is None:
            (plain, jitted) = diff
            print(f"batch {batch[0]}..{batch[-1]} diverges only as a whole")
            print("plain:", plain)
            print("jit:  ", jitted)
            failures.append(batch[0])
            continue
        print(f"(JITSAW_CHAOS={chaos})")
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"fuzz_divergence_{culprit}.py")
        with open(path, "w") as f:
            f.write(batch_source([culprit]))
        print(f"program {culprit} diverges (written to {path})")
        failures.append(culprit)
    print(f"{len(indices)} programs, {len(failures)} divergences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
