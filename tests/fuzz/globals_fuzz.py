"""Differential fuzzer for globals burned into compiled code: random programs
whose functions read module globals and builtins in loops while the names
change under them, every way Python allows — rebound by a callee or by the
reader itself mid-loop, through ``globals()``, a module attribute, ``exec``,
``update``/``pop``, a ``__del__`` run by a plain store, builtins replaced or
shadowed by a global, generators suspended across a change, and the same
code run with other globals; and attributes of modules read through a
global (``M.a0``, ``M.sub.b1``), which jitsaw burns in too, changed by
attribute stores and deletions, through the module's dict, by replacing a
submodule, or by changing the module's class; and class attributes
(``K.c0``, ``M.K.c1``), changed on the class or a base. Plain and jitted runs (every function compiled
at its first call, and after two calls) must print exactly the same.

    python3.13 tests/fuzz/globals_fuzz.py --seed 1 --count 100      # CI batch
    python3.13 tests/fuzz/globals_fuzz.py --seed 7 --count 2000     # long mode
    python3.13 tests/fuzz/globals_fuzz.py --show 12                 # print program 12
"""

import random
import sys

from differential import main

VALUES = ["7", "'x'", "None", "(9,)", "3.5", "len", "sum", "True", "[3]"]
# Global reads: whatever a name holds, printed without addresses.
READS = ["repr(show({n}))", "show({n})", "len(str(show({n})))", "type({n}).__name__",
         "min(1, 2)", "max(3, len('ab'))", "abs(-len(repr(show({n}))))"]


ATTRS = ["a0", "a1", "a2"]
SUB_ATTRS = ["b0", "b1"]
# Module attribute reads, through the global `M`.
MODULE_READS = ["show(M.{a})", "len(str(show(M.{a})))", "show(M.sub.{b})",
                "type(M.sub.{b}).__name__", "show(K.{c})", "show(M.K.{c})"]
CLASS_ATTRS = ["c0", "c1"]


def module_mutation(r):
    """Statements that change what an attribute read of `M` finds."""
    a, b, c, v = r.choice(ATTRS), r.choice(SUB_ATTRS), r.choice(CLASS_ATTRS), r.choice(VALUES)
    return r.choice([
        [f"M.{a} = {v}"],
        [f"M.__dict__.pop({a!r}, None)"],
        [f"vars(M).update({a}={v})"],
        [f"setattr(M.sub, {b!r}, {v})"],
        [f"M.sub.__dict__.pop({b!r}, None)"],
        ["M.sub = SUBS[0] if M.sub is SUBS[1] else SUBS[1]"],
        ["M.__class__ = Odd if type(M) is types.ModuleType else types.ModuleType"],
        [f"K.{c} = {v}"],
        [f"KBase.{c} = {v}"],
        [f"if {c!r} in K.__dict__: delattr(K, {c!r})"],
    ])


def mutation(r, names):
    """Statements that change one global (or a builtin, or what a module
    attribute read finds) some way."""
    if r.random() < 0.3:
        return module_mutation(r)
    n, v = r.choice(names), r.choice(VALUES)
    return r.choice([
        [f"global {n}", f"{n} = {v}"],
        [f"globals()[{n!r}] = {v}"],
        [f"sys.modules[__name__].{n} = {v}"],
        [f"d = Rebind({n!r}, {v})", "d = None"],
        [f"globals().pop({n!r}, None)", f"globals()[{n!r}] = {v}"],
        ["builtins.len = wrapped_len if builtins.len is real_len else real_len"],
        ["globals()['len'] = lambda s: -1", "globals().pop('len')"],
        [f"exec({n!r} + ' = ' + repr({v}), globals())"],
        [f"globals().update({{{n!r}: {v}}})"],
    ])


def program(seed):
    """Program `seed`'s source."""
    r = random.Random(seed)
    names = [f"G{i}" for i in range(r.randint(2, 5))]
    lines = [
        "import builtins, sys, types",
        "real_len = builtins.len",
        "def wrapped_len(s):",
        "    return real_len(s) + 100",
        "def show(v):",
        "    return getattr(v, '__name__', '?') if callable(v) else v",
        "class Rebind:",
        "    def __init__(self, name, value):",
        "        self.name, self.value = name, value",
        "    def __del__(self):",
        "        globals()[self.name] = self.value",
        "class Odd(types.ModuleType):",
        "    def __getattribute__(self, name):",
        "        return 'odd' if name.startswith('a') else super().__getattribute__(name)",
        "M = types.ModuleType('M')",
        "SUBS = [types.ModuleType('M.sub'), types.ModuleType('M.sub2')]",
        "M.sub = SUBS[0]",
        "class KBase:",
        "    c0 = 'base0'",
        "    c1 = 'base1'",
        "class K(KBase):",
        "    pass",
        "M.K = K",
    ]
    lines += [f"K.{c} = {r.choice(VALUES)}" for c in CLASS_ATTRS if r.random() < 0.5]
    lines += [f"M.{a} = {r.choice(VALUES)}" for a in ATTRS]
    lines += [f"SUBS[{k}].{b} = {r.choice(VALUES)}" for k in (0, 1) for b in SUB_ATTRS]
    lines += [f"{n} = {r.choice(VALUES)}" for n in names]
    functions = r.randint(2, 4)
    for f in range(functions):
        lines += [f"def f{f}(n):", "    out = []", "    for i in range(n):"]
        for _ in range(r.randint(1, 4)):
            if r.random() < 0.3:
                read = r.choice(MODULE_READS).format(
                    a=r.choice(ATTRS), b=r.choice(SUB_ATTRS), c=r.choice(CLASS_ATTRS))
            else:
                read = r.choice(READS).format(n=r.choice(names))
            lines.append(f"        out.append({read})")
            if r.random() < 0.3:
                lines.append(f"        if i == {r.randint(0, 8)}:")
                lines += [f"            {m}" for m in mutation(r, names)]
            if f > 0 and r.random() < 0.2:
                lines.append(f"        out.append(f{r.randrange(f)}(2))")
        lines.append("    return out")
    lines += ["def gen():", "    for i in range(6):",
              f"        yield {r.choice(READS).format(n=r.choice(names))}", "g = gen()"]
    lines.append("for rnd in range(12):")
    for f in range(functions):
        lines += ["    try:", f"        print(f{f}({r.randint(1, 12)}))",
                  "    except Exception as e:", "        print(type(e).__name__, e)"]
    lines += ["    try:", "        print(next(g, 'done'))",
              "    except Exception as e:", "        print(type(e).__name__, e)"]
    lines.append("    if rnd % 4 == 3:")
    lines += [f"        {m}" for m in mutation(r, names)]
    other = ", ".join(f"{n!r}: {i}" for i, n in enumerate(names))
    lines += ["    if rnd == 6:",
              f"        other = {{'__builtins__': __builtins__, {other}}}",
              "        h = types.FunctionType(f0.__code__, other)",
              "        try:", "            print('other', h(3))",
              "        except Exception as e:", "            print(type(e).__name__, e)"]
    lines.append("builtins.len = real_len")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(__doc__, program, "globals"))
