"""One differential test per instruction family: generic and specialized
forms, and the fallback path of each specialization (a guard failing after
the code was compiled for other types runs the generic form).

Under ``JITSAW_THRESHOLD=0`` a function's first call runs code compiled from
unspecialized bytecode, its second runs in the interpreter (which
specializes the bytecode), and later calls run the specialized compile; the
snippets call each function several times to cover all three.
"""

import pytest


def test_locals_constants_and_stack_ops(jit):
    r = jit(
        """
        def f(a, b):
            c = a          # LOAD_FAST / STORE_FAST
            a, b = b, a    # SWAP or superinstructions
            d = None       # LOAD_CONST (immortal)
            e = (1, 2)     # LOAD_CONST (a tuple)
            x = y = c      # COPY
            del y          # DELETE_FAST
            return a, b, c, d, e, x
        for i in range(5):
            print(f(i, "s"))
        def unbound(flag):
            if flag:
                v = 1
            return v        # LOAD_FAST_CHECK
        for i in range(4):
            try:
                print(unbound(i % 2))
            except UnboundLocalError as e:
                print("UnboundLocalError", e)
        """
    )
    r.assert_compiled("f", "unbound")
    assert "_LOAD_FAST_CHECK" in r.uops("unbound")


def test_extended_arg(jit):
    consts = ", ".join(f"{i}.5" for i in range(300))
    r = jit(
        f"""
        def f(k):
            t = ({consts})
            total = 0.0
            for i in range(k):
                total += t[i]
            return total, t[299]
        for i in range(4):
            print(f(280))
        """
    )
    r.assert_compiled("f")


def test_binary_op_specializations_and_their_deopts(jit):
    r = jit(
        """
        def add(a, b):
            return a + b
        def sub(a, b):
            return a - b
        def mul(a, b):
            return a * b
        for f in (add, sub, mul):
            for i in range(4):
                print(f(3, 4), f(2**62, 2**62), f(-7, 2))
            for i in range(4):
                print(f(1.5, 2.25))
            print(f("ab", 2) if f is mul else f(5, 0.5))
        def cat(a, b):
            return a + b
        for i in range(4):
            print(cat("x", "y"))
        print(cat([1], [2]))
        def generic(a, b):
            return a % b, a // b, a ** 2, a << 3, a & b, a | b, a ^ b, a >> 1
        for i in range(4):
            print(generic(17, 5))
        try:
            add(1, "x")
        except TypeError as e:
            print("TypeError", e)
        """
    )
    r.assert_compiled("add", "sub", "mul", "cat", "generic")
    assert "_BINARY_OP_ADD_INT_LOCALS" in r.uops("add")  # of two locals, read in place
    assert "_BINARY_OP_ADD_UNICODE" in r.uops("cat")
    assert r.exits("generic:BINARY_OP_")


def test_float_results_reuse_and_allocate(jit):
    r = jit(
        """
        def poly(x):
            return x * x - 2.5 * x + 1.0
        def keep(x, y):
            z = x + y
            return z, x, y
        for i in range(6):
            print(poly(i + 0.5), keep(0.25, 0.5))
        """
    )
    r.assert_compiled("poly", "keep")
    assert "_BINARY_OP_MULTIPLY_FLOAT_BORROWED" in r.uops("poly")  # of two locals


def test_operations_on_borrowed_locals_keep_every_refcount(jit):
    # Loops whose int and float types the optimizer proves: their
    # operations read locals and constants without new references
    # (`optimize::borrow`). Reference counts after the loops, a comparison
    # whose int outgrows one digit (its guard takes references before it
    # leaves), and a frame object appearing mid-loop must all be as plain.
    r = jit(
        """
        import sys
        def floats(n):
            x, v, k = 0.5, 0.25, 0.001
            for i in range(n):
                v = v - x * k
                x = x + v * k
                y = x * x - v * v
                w = (x + v) * k  # only the right input borrowed
            return x, v, y, w, sys.getrefcount(x), sys.getrefcount(v), sys.getrefcount(k)
        def ints(n):
            a, b, t = 0, 1, 0
            for i in range(n):
                a, b = b, a + b
                t = t + i * i - i
                if a < b:
                    t = t - 1
            return a, t, sys.getrefcount(a), sys.getrefcount(b), sys.getrefcount(t)
        def small(n):
            k, c = 7, 0
            for i in range(n):
                if i < k:
                    c = c + 1
            return c
        def cmp_range(lo, n):
            c = 0
            for i in range(lo, lo + n):
                k = i + 1
                if i < k:  # specialized on one-digit ints, later run on bigger ones
                    c = c + 1
                if i + 1 > k:  # the same, borrowing only the right input
                    c = c - 1
            return c, sys.getrefcount(i), sys.getrefcount(k)
        def big(n):
            c = 0
            for i in range(n):
                p = i + 1099511627776
                q = p + 1
                if p < q:  # two-digit ints: the borrowed compare's guard fails
                    c = c + 1
            return c, sys.getrefcount(p), sys.getrefcount(q)
        def frame_midway(n):
            s = 0
            for i in range(n):
                s = s + i
                if i == n // 2:
                    f = sys._getframe()
                    f.f_locals["s"] = 10**20
            return s
        for i in range(4):
            print(floats(50), ints(60), ints(100)[:2], frame_midway(40), small(20), big(20))
            print(cmp_range(0, 30))
        print([cmp_range(2**40, 30) for i in range(3)])
        """
    )
    r.assert_compiled("floats", "ints", "small", "big", "frame_midway", "cmp_range")
    # `x * k` of two locals reads them in place (`optimize::fuse`).
    assert "_BINARY_OP_MULTIPLY_FLOAT_LOCALS" in r.uops("floats")
    assert "_BINARY_OP_ADD_INT_LOCALS" in r.uops("ints")
    assert "_COMPARE_OP_INT_BORROWED" in r.uops("small")
    assert "_BINARY_OP_MULTIPLY_FLOAT_BORROWED_RIGHT" in r.uops("floats")
    assert "_BINARY_OP_SUBTRACT_INT_BORROWED_RIGHT" in r.uops("ints")


def test_float_operations_reading_their_locals_in_place(jit):
    # `a op b` of two float locals is one micro-op reading both in place
    # (`optimize::fuse`). Every way it can leave: a local holding an int,
    # a str or an object with `__mul__` (both pushed with references for
    # the fallback), the same local on both sides, NaN and infinities, a
    # loop entering right at the loads, a frame object rebinding a local
    # mid-loop; refcounts and results as plain.
    r = jit(
        """
        import sys
        class M:
            def __mul__(self, o): return "mul"
            def __rmul__(self, o): return "rmul"
            def __add__(self, o): return "add"
            def __sub__(self, o): return "sub"
        def ops(a, b, n):
            t = 0.0
            for i in range(n):
                s = a + b
                d = a - b
                p = a * b
                q = a * a
                t = t + (s if i % 2 else d)
            return s, d, p, q, t, sys.getrefcount(a), sys.getrefcount(b)
        def rebind(n):
            x, y = 1.5, 2.5
            out = []
            for i in range(n):
                out.append(x * y)
                if i == n // 2:
                    sys._getframe().f_locals["x"] = 3
                    x = 3
            return out[-3:], sys.getrefcount(y)
        def loop_at_loads(n):
            x, y = 0.5, 0.25
            while n:
                z = x * y
                n -= 1
            return z
        x, y = 1.5 * 3, 2.5 * 3
        for k in range(40):
            out = ops(x, y, 20), rebind(10), loop_at_loads(5)
        print(out)
        nan, inf = float("nan"), float("inf")
        for a, b in [(nan, 1.0), (inf, -inf), (inf, 0.0), (-0.0, 0.0), (3, 4.0), (4.0, 3),
                     (10**30, 2.5), ("ab", 3.0), (M(), 2.0), (2.0, M()), (True, 1.5)]:
            try:
                print(ops(a, b, 3)[:5])
            except TypeError as e:
                print("TypeError", e)
        print(sys.getrefcount(x), sys.getrefcount(y), rebind(10))
        """
    )
    r.assert_compiled("ops", "rebind", "loop_at_loads")
    # Stored to a local, each computes into it (next test).
    for name in ["_BINARY_OP_ADD_FLOAT_INTO_LOCAL", "_BINARY_OP_SUBTRACT_FLOAT_INTO_LOCAL",
                 "_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL"]:
        assert name in r.uops("ops")
    assert "_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL" in r.uops("loop_at_loads")


def test_float_results_computed_into_their_local(jit):
    # `d = a op b` of float locals writes the result into d's float when d
    # alone holds it (`optimize::fuse`). Never when anything else can see
    # the old float: another local, a list, a `locals()` snapshot, a value
    # read through `f_locals`; never into a float subclass's instance or
    # another type; an unbound or deleted local gets a new float; the
    # stored local as an input; a generator suspended between; refcounts.
    r = jit(
        """
        import sys
        class F(float):
            pass
        def shared(a, b, n):
            d = 0.5
            kept, seen = [], []
            for i in range(n):
                e = d
                d = a * b + i
                kept.append(e)
                d = a - b
                if i % 3 == 0:
                    seen.append(d)
                d = d * a
            return d, kept[-3:], seen[-2:], sys.getrefcount(d)
        def olds(a, b, n):
            out = []
            for old in [F(2.5), 7, None, "s", 10**30]:
                d = old
                d = a + b
                out.append((type(d).__name__, d, type(old).__name__, old))
            del d
            d = a * b
            for i in range(n):
                x = a
                x = x * b   # the stored local as the left input
                y = b
                y = a - y   # and as the right one
            return out, d, x, y, sys.getrefcount(x)
        def snapshot(a, b, n):
            d = a * b
            snap = locals()
            d = a + b
            proxy = sys._getframe().f_locals
            got = []
            for i in range(n):
                d = a * b
                got.append(proxy["d"])
                d = d - a
            return snap["d"], got[-2:], d
        def gen(a, b, n):
            d = 0.0
            for i in range(n):
                d = a * b
                yield d
                d = d + a
                yield d
        x, y = 1.5 * 3, 2.5 * 3
        for k in range(40):
            out = shared(x, y, 12), olds(x, y, 10), snapshot(x, y, 5), list(gen(x, y, 4))
        print(out)
        g = gen(x, y, 6)
        firsts = [next(g), next(g)]
        print(firsts, list(g), firsts)
        print(shared(3, y, 4), olds(2, 3, 2), shared(x, 2, 3))
        print(sys.getrefcount(x), sys.getrefcount(y))
        """
    )
    r.assert_compiled("shared", "olds", "snapshot", "gen")
    for name in ["shared", "olds", "snapshot", "gen"]:
        assert any(u.endswith("_INTO_LOCAL") for u in r.uops(name)), name


def test_int_operations_reading_their_locals_in_place(jit):
    # `a op b` of two int locals, fused like the float ones: small and
    # cached results, results past a digit and past a word, overflow into
    # big ints, bools and floats and strs at the sites, refcounts.
    r = jit(
        """
        import sys
        def ops(a, b, n):
            t = 0
            for i in range(n):
                s = a + b
                d = a - b
                p = a * b
                q = b * b
                t = t + (s if i % 2 else d)
            return s, d, p, q, t, sys.getrefcount(a), sys.getrefcount(b)
        x, y = 10**5 + 1, 10**5 + 2
        for k in range(40):
            out = ops(x, y, 20), ops(3, 4, 20), ops(-7, 250, 5)
        print(out)
        for a, b in [(2**31, 2**31), (2**62, 2**62), (-(2**62), 2**62), (10**30, 7), (True, 2),
                     (3, 2.5), (1.5, 2), ("ab", 3), (3, "ab"), (0, -1)]:
            try:
                print(ops(a, b, 3)[:5])
            except TypeError as e:
                print("TypeError", e)
        print(sys.getrefcount(x), sys.getrefcount(y))
        """
    )
    r.assert_compiled("ops")
    for name in ["_BINARY_OP_ADD_INT_LOCALS", "_BINARY_OP_SUBTRACT_INT_LOCALS",
                 "_BINARY_OP_MULTIPLY_INT_LOCALS"]:
        assert name in r.uops("ops")


def test_mixed_int_and_float_operands(jit):
    # Unspecialized arithmetic and comparisons on a float and an int: inline
    # when the int is exactly a double (below 2**53), else generic; zero
    # divisors, NaNs, infinities, signed zeros and big ints as CPython has them.
    r = jit(
        """
        ints = [0, 1, -1, 3, -7, 2**30, 2**52 + 1, 2**53 - 1, 2**53, 2**53 + 1, -(2**53 + 1),
                2**60, 10**20, True]
        floats = [0.0, -0.0, 0.5, -2.5, 1e300, -1e-300, float("inf"), float("-inf"),
                  float("nan"), 9007199254740993.0]
        def arith(a, b):
            out = []
            for f in (lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b,
                      lambda: a < b, lambda: a <= b, lambda: a == b, lambda: a != b,
                      lambda: a > b, lambda: a >= b):
                try:
                    r = f()
                    out.append((type(r).__name__, repr(r)))
                except Exception as e:
                    out.append(type(e).__name__)
            return out
        def dying(x, n):
            return (x * 2.0) * n, n * (x + 1.0), (x - 1.0) / n if n else None
        pairs = [(a, b) for a in ints for b in floats] + [(b, a) for a in ints for b in floats]
        pairs += [(a, b) for a in ints for b in ints]
        for i in range(3):
            results = [arith(a, b) for a, b in pairs]
            kept = [dying(x, n) for x in (0.5, -3.0, 1e308) for n in (0, 1, -3, 2**40)]
        print(results)
        print(kept)
        """
    )
    r.assert_compiled("arith", "dying")


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_operators_of_python_classes_called_directly(jit, chaos):
    # A generic BINARY_OP whose left operand's class defines the operator in
    # Python calls the method directly when the right operand is of the
    # same class or of one without that method; NotImplemented, the right
    # operand's own slot, TypeError's message, reflected methods of
    # subclasses and of the right operand's class, augmented methods, a
    # list base, a method redefined or deleted, generators, defaults,
    # exceptions, the recursion limit and the caller's frame are as in the
    # interpreter.
    r = jit(
        """
        import sys, traceback
        class V:
            def __init__(self, x):
                self.x = x
            def __repr__(self):
                return f"V({self.x!r})"
            def __add__(self, o):
                return V(self.x + (o.x if isinstance(o, V) else o))
            def __sub__(self, o):
                if isinstance(o, V):
                    return V(self.x - o.x)
                if isinstance(o, str):
                    return NotImplemented
                return V(self.x - o)
            def __mul__(self, o):
                return NotImplemented if isinstance(o, V) else V(self.x * o)
            def __truediv__(self, o):
                return V(self.x / (o.x if isinstance(o, V) else o))
            def __floordiv__(self, o, extra=0):
                return V(self.x // o.x + extra)
            def __mod__(self, o):
                yield self.x % o.x
            def __and__(self, o):
                return (sys._getframe(1).f_code.co_name, sys._getframe(1).f_lineno)
            def __or__(self, o):
                raise ValueError(f"or {self.x}")
            def __xor__(self, o):
                return V(self.x ^ o.x)
            def __lshift__(self, o):
                return self if o.x <= 0 else (self << V(o.x - 1)) + 1
            def __rshift__(self, o):
                return V(self.x >> o.x)
            def __matmul__(self, o):
                return self.x * o.x
        class W(V):
            def __rsub__(self, o):
                return ("W.__rsub__", o.x, self.x)
        class Radd(int):
            def __radd__(self, o):
                return ("Radd", int(self))
        class Plain(int):
            pass
        class Inplace(V):
            def __iadd__(self, o):
                return ("iadd", self.x)
        class L(list):
            def __add__(self, o):
                return "L.__add__"
        def ops(a, b, n):
            out = []
            for f in (lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b,
                      lambda: a // b, lambda: list(a % b), lambda: a & b, lambda: a | b,
                      lambda: a ^ b, lambda: a << b, lambda: a >> b, lambda: a @ b,
                      lambda: a + n, lambda: a - n, lambda: a * n, lambda: a - "s",
                      lambda: a + Radd(2), lambda: a + Plain(2), lambda: a - W(1),
                      lambda: a * None, lambda: a @ n):
                try:
                    out.append(f())
                except Exception as e:
                    out.append((type(e).__name__, str(e), traceback.format_exc().splitlines()[-3:]))
            return out
        def augmented(a, b):
            out = []
            for x in (a, Inplace(5), L([1])):
                y = x
                try:
                    y += b
                    y -= b
                    y *= 2
                    y *= b
                except TypeError as e:
                    out.append(str(e))
                out.append(y)
            return out
        class Deep:
            def __init__(self, x):
                self.x = x
            def __add__(self, o):
                return 1 + (self + Deep(o.x - 1) if o.x else 0)
        def deep(n):
            for _ in range(2):
                try:
                    r = Deep(0) + Deep(n)
                except RecursionError as e:
                    r = ("RecursionError", str(e))
            return r
        print([deep(n) for n in (10, 500, 5000)])
        vs = [V(i) for i in range(1, 6)] + [V(2.5)]
        for i in range(12):
            for a in vs:
                for b in vs:
                    print(i, ops(a, b, 3))
                print(i, augmented(a, V(2)))
            if i == 5:
                V.__sub__ = lambda self, o: ("lambda", self.x)
            if i == 8:
                del V.__xor__
            if i == 10:
                V.__add__ = len
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("ops")
    assert r.stats["operators_called"] > (50 if chaos else 1000), r.stats["operators_called"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_comparisons_of_python_classes_called_directly(jit, chaos):
    # A generic COMPARE_OP whose left operand's class defines the comparison
    # in Python runs the method directly unless the right operand's class
    # derives from it; NotImplemented, reflected methods, identity for == and
    # !=, TypeError's message, results that are not bools (in branches too),
    # exceptions, the recursion limit, dataclass and total_ordering methods
    # and a method redefined are as in the interpreter.
    r = jit(
        """
        import dataclasses, functools, sys, traceback
        class V:
            def __init__(self, x):
                self.x = x
            def __repr__(self):
                return f"V({self.x!r})"
            def __eq__(self, o):
                return self.x == o.x if isinstance(o, V) else NotImplemented
            def __lt__(self, o):
                if isinstance(o, V):
                    return self.x < o.x
                if o is None:
                    raise ValueError("None")
                return NotImplemented
            def __le__(self, o):
                return [self.x] if isinstance(o, V) else NotImplemented
            def __gt__(self, o):
                return ("V.__gt__", self.x, getattr(o, "x", type(o).__name__))
            __hash__ = None
        class W(V):
            def __gt__(self, o):
                return ("W.__gt__", self.x)
        class X:
            def __gt__(self, o):
                return ("X.__gt__", getattr(o, "x", type(o).__name__))
        class OnlyEq:
            def __init__(self, x):
                self.x = x
            def __eq__(self, o):
                return NotImplemented if o is None else self.x == getattr(o, "x", o)
        class Bad:
            def __bool__(self):
                raise ZeroDivisionError("bool")
            def __repr__(self):
                return "Bad()"
        class BadEq(V):
            pass
        BadEq.__eq__ = lambda self, o: Bad()
        @dataclasses.dataclass(order=True)
        class D:
            a: int
            b: str
        @functools.total_ordering
        class T:
            def __init__(self, x):
                self.x = x
            def __repr__(self):
                return f"T({self.x})"
            def __eq__(self, o):
                return self.x == o.x
            def __lt__(self, o):
                return self.x < o.x
        def compare(a, b):
            out = []
            for f in (lambda: a == b, lambda: a != b, lambda: a < b, lambda: a <= b,
                      lambda: a > b, lambda: a >= b):
                try:
                    out.append(f())
                except Exception as e:
                    out.append((type(e).__name__, str(e), traceback.format_exc().splitlines()[-3:]))
            try:
                out.append("yes" if a == b else "no")
                out.append("lt" if a < b else "not lt")
            except Exception as e:
                out.append((type(e).__name__, str(e)))
            return out
        class Node:
            def __init__(self, child):
                self.child = child
            def __eq__(self, o):
                return self.child == o.child
        def chain(n):
            node = None
            for _ in range(n):
                node = Node(node)
            return node
        def deep(n):
            a, b = chain(n), chain(n)
            try:
                return a == b
            except RecursionError as e:
                return ("RecursionError", str(e))
        print([deep(n) for n in (10, 500, 5000)])
        values = [V(1), V(2), V(2.0), W(2), X(), None, 3, "s", OnlyEq(2), BadEq(1),
                  D(1, "a"), D(1, "b"), T(1), T(2)]
        for i in range(8):
            for a in values:
                for b in values:
                    print(i, a if not isinstance(a, (X, OnlyEq, Bad)) else type(a).__name__,
                          b if not isinstance(b, (X, OnlyEq, Bad)) else type(b).__name__,
                          compare(a, b))
            if i == 4:
                V.__lt__ = lambda self, o: ("lambda", self.x)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("compare")
    assert r.stats["operators_called"] > (50 if chaos else 500), r.stats["operators_called"]


def test_eval_breaker_inside_operator_and_comparison_methods_run_directly(jit):
    # A signal handler's exception raised at the eval breaker inside an
    # operator, comparison, subscript or call method that compiled code ran
    # directly leaves through the operator, with the interpreter's
    # traceback.
    r = jit(
        """
        import signal
        class Alarm(Exception):
            pass
        def handler(signum, frame):
            raise Alarm()
        signal.signal(signal.SIGALRM, handler)
        class Spin:
            def __add__(self, o):
                while True:
                    pass
            def __lt__(self, o):
                while True:
                    pass
            def __getitem__(self, k):
                while True:
                    pass
            def __call__(self):
                while True:
                    pass
        def run(a, b, compare):
            try:
                if compare == 2:
                    return a[b]
                if compare == 3:
                    return a()
                return a < b if compare else a + b
            except Alarm as e:
                names, tb = [], e.__traceback__
                while tb:
                    names.append(tb.tb_frame.f_code.co_name)
                    tb = tb.tb_next
                return names
        for i in range(8):
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            print(i, run(Spin(), Spin(), i % 4))
        """,
        env={"JITSAW_THRESHOLD": "0"},
    )
    r.assert_compiled("run")
    assert r.stats["operators_called"] >= 8, r.stats["operators_called"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_subscripts_of_python_classes_called_directly(jit, chaos):
    # A generic BINARY_SUBSCR or STORE_SUBSCR of an instance of a class
    # defining __getitem__/__setitem__ in Python runs the method directly:
    # results, exceptions and their tracebacks, the recursion limit, a
    # __setitem__'s result released, subclasses of dict and list, methods
    # replaced or deleted, non-function methods (staticmethod, builtins,
    # callable objects), wrong signatures, generator methods and C
    # containers (array, dict, list, str, slices) are as in the interpreter.
    r = jit(
        """
        import array, sys, traceback
        class Grid:
            def __init__(self, w):
                self.w = w
                self.data = [0] * (w * w)
            def __getitem__(self, xy):
                x, y = xy
                if not (0 <= x < self.w and 0 <= y < self.w):
                    raise IndexError(xy)
                return self.data[y * self.w + x]
            def __setitem__(self, xy, v):
                x, y = xy
                if v is None:
                    raise ValueError("None")
                self.data[y * self.w + x] = v
                return ("ignored", v)
        class Counted(dict):
            def __getitem__(self, k):
                return dict.get(self, k, "missing")
            def __setitem__(self, k, v):
                dict.__setitem__(self, k, (v, len(self)))
        class L(list):
            def __getitem__(self, i):
                return ("L", list.__getitem__(self, i))
        class Static:
            __getitem__ = staticmethod(lambda k: ("static", k))
        class Builtin:
            __getitem__ = len
        class CallableObj:
            def __call__(self, *a):
                return ("obj", len(a))
        class ViaObj:
            __getitem__ = CallableObj()
        class Gen:
            def __getitem__(self, k):
                yield k
                yield k + 1
        class Wrong:
            def __getitem__(self):
                return 1
        class Del:
            def __init__(self):
                self.log = []
            def __setitem__(self, k, v):
                self.log.append((k, v))
            def __delitem__(self, k):
                self.log.append(("del", k))
        class Deep:
            def __getitem__(self, n):
                return self[n - 1] + 1 if n else 0
        class Sub(Grid):
            def __getitem__(self, xy):
                return ("sub", Grid.__getitem__(self, xy))
        def get(c, k):
            try:
                return c[k]
            except Exception as e:
                return (type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-4:]])
        def put(c, k, v):
            try:
                c[k] = v
                return "ok"
            except Exception as e:
                return (type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-4:]])
        def walk(g, n):
            out = []
            try:
                for i in range(n):
                    g[i % 3, (i + 1) % 3] = i
                    out.append(g[(i + 1) % 3, i % 3])
            except TypeError as e:
                out.append(str(e))
            return out[-4:]
        def deep(n):
            try:
                return Deep()[n]
            except RecursionError as e:
                return ("RecursionError", str(e))
        print([deep(n) for n in (10, 500, 5000)])
        arr = array.array("d", [1.0, 2.0])
        containers = [Grid(3), Sub(3), Counted(a=1), L([5, 6]), Static(), Builtin(), ViaObj(),
                      Wrong(), Del(), arr, {"a": 1}, [7, 8], "xy"]
        keys = [(1, 2), (5, 5), "a", 0, 1, -1, slice(0, 1), None]
        for i in range(8):
            print(i, walk(Grid(3), 30), walk(Sub(3), 30))
            for c in containers:
                for k in keys:
                    print(i, type(c).__name__, repr(k), get(c, k), put(c, k, i), put(c, k, None))
            print(i, list(get(Gen(), 3)), containers[8].log[-3:], containers[2], arr)
            if i == 3:
                Grid.__getitem__ = lambda self, xy: ("lambda", xy)
            if i == 5:
                del Grid.__setitem__
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("get", "put", "walk")
    assert r.stats["operators_called"] > (50 if chaos else 400), r.stats["operators_called"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_calls_of_instances_of_classes_defining_call(jit, chaos):
    # A call of an instance whose class defines __call__ in Python is made
    # as a method call of that function: results, defaults, *args, keyword
    # calls, exceptions and their tracebacks, the recursion limit, methods
    # replaced or deleted, non-function methods (staticmethod, classmethod,
    # builtins, callable objects), instance attributes named __call__
    # (ignored), generator methods, metaclasses defining __call__ and
    # subclasses are as in the interpreter.
    r = jit(
        """
        import traceback
        class Adder:
            def __init__(self, k):
                self.k = k
            def __call__(self, x, y=1, *rest):
                if x is None:
                    raise ValueError("None")
                return x + self.k * y + len(rest)
        class Sub(Adder):
            def __call__(self, x, y=2, *rest):
                return ("sub", Adder.__call__(self, x, y, *rest))
        class Static:
            __call__ = staticmethod(lambda *a: ("static", len(a)))
        class Cls:
            __call__ = classmethod(lambda cls, *a: (cls.__name__, len(a)))
        class Builtin:
            __call__ = len
            def __len__(self):
                return 7
        class Inner:
            def __call__(self, *a):
                return ("inner", len(a))
        class ViaObj:
            __call__ = Inner()
        class Gen:
            def __call__(self, n):
                yield from range(n)
        class Own:
            def __init__(self):
                self.__call__ = lambda *a: "instance attribute"
            def __call__(self, *a):
                return ("class", len(a))
        class Meta(type):
            def __call__(cls, *a):
                return ("meta", cls.__name__, len(a), type(super().__call__()).__name__)
        class M(metaclass=Meta):
            pass
        class Deep:
            def __call__(self, n):
                return self(n - 1) + 1 if n else 0
        class Wrong:
            def __call__(self):
                return 1
        def call(f, *a):
            out = []
            for g in (lambda: f(), lambda: f(1), lambda: f(2, 3), lambda: f(4, 5, 6), lambda: f(None)):
                try:
                    r = g()
                    if type(r).__name__ == "generator":
                        r = list(r)
                    out.append(r if isinstance(r, (int, str, tuple, list)) else type(r).__name__)
                except Exception as e:
                    out.append((type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]]))
            try:
                r = f(1, y=5)
                out.append(r if isinstance(r, (int, str, tuple, list)) else type(r).__name__)
            except Exception as e:
                out.append((type(e).__name__, str(e)))
            return out
        def positional(f, n):
            out = []
            for i in range(n):
                out.append((f(i), f(i, 2)))
            return out[-2:]
        def deep(n):
            try:
                return Deep()(n)
            except RecursionError as e:
                return ("RecursionError", str(e))
        print([deep(n) for n in (10, 500, 5000)])
        callables = [Adder(3), Sub(2), Static(), Cls(), Builtin(), ViaObj(), Gen(), Own(), M,
                     Wrong(), len, Adder]
        for i in range(8):
            print(i, positional(Adder(i), 50), positional(Sub(i), 20))
            for f in callables:
                print(i, type(f).__name__, call(f))
            if i == 3:
                Adder.__call__ = lambda self, x, y=1: ("lambda", x, y)
            if i == 5:
                del Sub.__call__
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("call")
    if chaos:
        # Forced deopts may leave it waiting for its next call's
        # recompilation (whether its first call went on compiled, entered
        # at its loop, depends on how long that call took).
        assert r.state("positional")["status"] in ("compiled", "requicken")
    else:
        r.assert_compiled("positional")
    assert r.stats["operators_called"] > (0 if chaos else 400), r.stats["operators_called"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_loops_and_in_tests_over_classes_defining_next_and_contains(jit, chaos):
    # A FOR_ITER over an iterator whose class defines __next__ in Python,
    # and an `in` test of a container whose class defines __contains__,
    # run the method directly: values, StopIteration (with a value, raised
    # from a nested call), other exceptions and their tracebacks, results
    # that are not bools (a __bool__ raising), methods replaced or deleted,
    # __contains__ = None, non-function methods and subclasses of list are
    # as in the interpreter.
    r = jit(
        """
        import traceback
        class Count:
            def __init__(self, n, fail=None):
                self.i = 0
                self.n = n
                self.fail = fail
            def __iter__(self):
                return self
            def __next__(self):
                i = self.i
                if i == self.fail:
                    raise KeyError(i)
                if i >= self.n:
                    self.stop()
                self.i = i + 1
                return i
            def stop(self):
                raise StopIteration(self.i)
        class Static(Count):
            __next__ = staticmethod(lambda: 1 / 0)
        class Bad:
            def __bool__(self):
                raise ZeroDivisionError("bool")
        class Box:
            def __init__(self, items):
                self.items = items
            def __contains__(self, x):
                if x is None:
                    raise ValueError("None")
                if x == "bad":
                    return Bad()
                return [x] if x in self.items else ""
        class NotContainer(Box):
            __contains__ = None
        class IterOnly:
            def __iter__(self):
                return iter((1, 2, 3))
        class L(list):
            def __contains__(self, x):
                return x * 2 in self[:]
        def loop(it):
            out = []
            try:
                for x in it:
                    out.append(x)
            except Exception as e:
                out.append((type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]]))
            return out
        def test(c, xs):
            out = []
            for x in xs:
                try:
                    out.append((x in c, x not in c))
                except Exception as e:
                    out.append((type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]]))
            return out
        def total(n):
            s = 0
            box = Box(range(0, n, 3))
            for x in Count(n):
                if x in box:
                    s += x
            return s
        xs = [0, 1, 2, 3, None, "bad", 6]
        containers = [Box([1, 2, 3]), NotContainer([1]), IterOnly(), L([2, 4, 6]), [1, 2], {3: 4}, "ab"]
        for i in range(8):
            print(i, total(30 + i), loop(Count(3)), loop(Count(5, fail=2)), loop(Static(2)),
                  loop(iter([1, 2])))
            for c in containers:
                print(i, type(c).__name__, test(c, xs))
            if i == 3:
                Count.__next__ = lambda self: self.stop() if self.i > 2 else setattr(self, "i", self.i + 1) or self.i
                Box.__contains__ = lambda self, x: x == 2
            if i == 5:
                del L.__contains__
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("loop", "test", "total")
    assert r.stats["operators_called"] > (0 if chaos else 400), r.stats["operators_called"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_len_and_iter_of_classes_defining_len_and_iter(jit, chaos):
    # len() and truth tests of an instance whose class defines __len__ or
    # __bool__ in Python, and a loop over one whose __iter__ is a plain
    # function (not a generator), run the method directly: lengths that are bools, int subclasses, __index__
    # objects, negative, too big or not integers, iterators that are not
    # (TypeError), __iter__ = None, exceptions and their tracebacks, methods
    # replaced or deleted are as in the interpreter.
    r = jit(
        """
        import traceback
        class Idx:
            def __index__(self):
                return 4
        class MyInt(int):
            pass
        class Bag:
            def __init__(self, n):
                self.n = n
            def __len__(self):
                if self.n == "raise":
                    raise KeyError("len")
                return self.n
            def __iter__(self):
                if self.n == "raise":
                    raise KeyError("iter")
                if self.n == "list":
                    return [1, 2]
                if self.n == "self":
                    return self
                return iter(range(self.n if type(self.n) is int and 0 <= self.n < 10 else 2))
            def __next__(self):
                self.n = 0
                raise StopIteration
        class NoIter(Bag):
            __iter__ = None
        class Truth:
            def __init__(self, v):
                self.v = v
            def __bool__(self):
                if self.v == "raise":
                    raise KeyError("bool")
                return self.v
        def truth(o):
            try:
                return ("yes" if o else "no", not o, bool(o))
            except Exception as e:
                return (type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]])
        def length(o):
            try:
                return len(o)
            except Exception as e:
                return (type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]])
        def loop(o):
            out = []
            try:
                for x in o:
                    out.append(x)
            except Exception as e:
                out.append((type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]]))
            return out
        ns = [0, 3, True, MyInt(5), Idx(), -1, 2**70, -2**70, 1.5, "raise", "list", "self", None]
        for i in range(8):
            print(i, [length(Bag(n)) for n in ns], [loop(Bag(n)) for n in ns])
            print(i, length(NoIter(2)), loop(NoIter(2)), length([1]), loop((1, 2)))
            print(i, [truth(Bag(n)) for n in ns], [truth(Truth(v)) for v in (True, False, 0, 1, None, "raise")])
            if i == 3:
                Bag.__len__ = lambda self: 7
                Bag.__iter__ = lambda self: iter("ab")
                Truth.__bool__ = lambda self: not self.v
            if i == 5:
                del Bag.__len__
                del Bag.__iter__
                del Truth.__bool__
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("length", "loop", "truth")
    assert r.stats["operators_called"] > (0 if chaos else 100), r.stats["operators_called"]


def test_negation_of_classes_defining_neg(jit):
    # `-v` of an instance whose class defines __neg__ in Python runs the
    # method directly: results (NotImplemented too, which unary operators
    # return as is), exceptions and tracebacks, int subclasses with and
    # without __neg__, non-function methods and the method replaced or
    # deleted are as in the interpreter.
    r = jit(
        """
        import traceback
        class V:
            def __init__(self, x):
                self.x = x
            def __neg__(self):
                if self.x is None:
                    raise ValueError("None")
                return V(-self.x) if self.x != 7 else NotImplemented
            def __repr__(self):
                return f"V({self.x})"
        class I(int):
            def __neg__(self):
                return ("I", int(self))
        class J(int):
            pass
        class S:
            __neg__ = staticmethod(lambda: "static")
        def neg(values):
            out = []
            for v in values:
                try:
                    out.append(-v)
                except Exception as e:
                    out.append((type(e).__name__, str(e), [l.strip() for l in traceback.format_exc().splitlines()[-3:]]))
            return out
        values = [V(1), V(7), V(None), I(3), J(4), S(), 2.5, -3, "s", 2**70]
        for i in range(8):
            print(i, neg(values))
            if i == 3:
                V.__neg__ = lambda self: ("lambda", self.x)
            if i == 5:
                del V.__neg__
        """
    )
    r.assert_compiled("neg")
    assert r.stats["operators_called"] > 10, r.stats["operators_called"]


def test_operator_of_a_python_class_first_met_while_the_interpreter_exits(jit):
    # The runtime reads CPython's slot functions from a class it makes the
    # first time compiled code meets such an operator; here that is in a
    # __del__ run while the interpreter finalizes (no Python::attach then).
    jit(
        """
        class V:
            def __init__(self, x):
                self.x = x
            def __or__(self, o):
                return V(self.x | o.x)
        class D:
            def __del__(self):
                def f(a, b):
                    for _ in range(3):
                        a = a | b
                    return a.x
                print("del", f(V(1), V(6)))
        d = D()
        print("exit")
        """
    )


def test_inplace_string_add(jit):
    r = jit(
        """
        def build(n):
            s = ""
            for i in range(n):
                s += "ab"
            return s
        def other(n):
            s = "x"
            t = s
            s += "y"
            return s, t
        for i in range(4):
            print(len(build(50)), other(1))
        """
    )
    r.assert_compiled("build", "other")
    assert "_BINARY_OP_INPLACE_ADD_UNICODE" in r.uops("build")


def test_compare_op(jit):
    r = jit(
        """
        def ints(a, b):
            return a < b, a <= b, a == b, a != b, a > b, a >= b
        def floats(a, b):
            return a < b, a == b, a > b
        def strs(a, b):
            return a == b, a != b
        def mixed(a, b):
            return a < b
        for i in range(4):
            print(ints(i, 2), ints(2**40, 2**41), floats(1.5, i * 0.5), strs("a", "ab"[:i]))
            print(floats(float("nan"), 1.0), mixed([1], [2]), mixed((1,), (0,)))
        print(ints(1.5, 2))   # deopt of the int guard
        """
    )
    r.assert_compiled("ints", "floats", "strs", "mixed")
    # (Of two locals: borrowed, the guard too.)
    assert "_COMPARE_OP_INT_BORROWED" in r.uops("ints")
    assert "_COMPARE_OP_FLOAT_BORROWED" in r.uops("floats")
    assert "_COMPARE_OP_STR" in r.uops("strs")
    assert r.exits("generic:COMPARE_OP_INT")


def test_every_comparison_in_loops_of_ints_and_floats(jit):
    # Specialized int and float comparisons keep only their oparg's mask of
    # true outcomes and run the stencil copied for it (one compare each,
    # `optimize::mask_comparisons`): each operator, as a value and as a
    # branch, owned, borrowed and with a borrowed right input, with equal,
    # ordered and unordered (NaN) operands, negative and multi-digit ints.
    r = jit(
        """
        TEST = (
            "def {name}(xs, k):\\n"
            "    out = []\\n"
            "    for a in xs:\\n"
            "        b = a * {one}\\n"
            "        out.append((a < k, a <= k, a == k, a != k, a > k, a >= k))\\n"
            "        out.append((b + {one} < a, b <= a, b == a, b != a, b > a, b >= a + {one}))\\n"
            "        n = 0\\n"
            "        if a < k: n += 1\\n"
            "        if a <= k: n += 2\\n"
            "        if a == k: n += 4\\n"
            "        if a != k: n += 8\\n"
            "        if a > k: n += 16\\n"
            "        if a >= k: n += 32\\n"
            "        out.append(n)\\n"
            "    return out\\n"
        )
        exec(TEST.format(name="ints", one="1"))
        exec(TEST.format(name="floats", one="1.0"))
        nan, inf = float("nan"), float("inf")
        for i in range(40):
            out = ints([-3, -1, 0, 1, 2, 5, 2**20], 1), floats([-1.5, 0.0, -0.0, 1.0, 2.5, inf], 1.0)
        print(out)
        print(floats([nan, 1.0, -inf], nan), floats([nan, inf, 0.0], 0.0))
        print(ints([2**70, -(2**70), 3], 2**70), ints([1.5, True, 1], 1))
        """
    )
    r.assert_compiled("ints", "floats")
    uops = r.uops("ints") + r.uops("floats")
    for form in ("_COMPARE_OP_INT", "_COMPARE_OP_FLOAT"):
        assert any(u.startswith(form) for u in uops), form


def test_to_bool_and_branches(jit):
    r = jit(
        """
        class Truthy:
            def __bool__(self):
                return True
        class Plain:            # neither __bool__ nor __len__: always true
            pass
        class Empty:
            def __len__(self):
                return 0
        class Falsy(Plain):
            def __bool__(self):
                return False
        class Later:
            pass
        class Bad:
            def __bool__(self):
                raise ValueError("no truth")
        class NegativeLen:
            def __len__(self):
                return -1
        class FalseInt(int):
            def __bool__(self):
                return False
        class EmptyStr(str):
            def __len__(self):
                return 0
        class FullList(list):
            def __len__(self):
                return 1
        def truth(x):
            if x:
                return "yes"
            else:
                return "no"
        def is_none(x):
            if x is None:
                return 1
            if x is not None:
                return 2
        def neg(x):
            return not x
        def int_truth(x):
            return "yes" if x else "no"
        values = [0, 1, "", "a", [], [1], None, True, False, 0.0, Truthy(), (), {1: 2},
                  Plain(), Empty(), Falsy(), set(), Later(), 10**30, -5, -10**30,
                  FalseInt(3), EmptyStr("a"), FullList(), b"", b"x", Plain]
        for i in range(4):
            print([truth(v) for v in values], [is_none(v) for v in values], [neg(v) for v in values])
            print(int_truth(i))
        Later.__len__ = lambda self: 0     # the type's slots change
        print(truth(Later()), neg(Later()))
        for bad in (Bad(), NegativeLen()):
            try:
                truth(bad)
            except ValueError as e:
                print("ValueError", e)
        print(int_truth("x"), int_truth([]))   # the int specialization's guard fails
        """
    )
    r.assert_compiled("truth", "is_none", "neg", "int_truth")
    # Seeing every type, `if x:` stays unspecialized: the fast paths' form.
    assert "_TO_BOOL_ADAPTIVE" in r.uops("truth")
    assert "_TO_BOOL_INT_BORROWED" in r.uops("int_truth")  # of a local: borrowed
    assert r.exits("generic:TO_BOOL_INT")


def test_is_none_of_a_value_that_dies_there(jit):
    # `_IS_NONE` of an owned value (a call's result, an attribute) releases
    # it whatever the answer: a value that dies there runs its `__del__`
    # between the prints, as in the interpreter, and `None` goes on.
    r = jit(
        """
        class Noisy:
            def __init__(self, n):
                self.n = n
            def __del__(self):
                print("del", self.n)
        class Box:
            def __init__(self, v):
                self.v = v
        def make(i):
            return None if i % 2 else Noisy(i)
        def check(i, box):
            print("before", i)
            if make(i) is None:
                print("none", i)
            else:
                print("some", i)
            seen = [make(j) is not None for j in range(3)]
            return seen, box.v is None, box.v is not None
        for i in range(6):
            print(check(i, Box(None if i % 3 else Noisy(-i))))
        """
    )
    r.assert_compiled("check")
    assert "_IS_NONE" in r.uops("check")


def test_unary_contains_is(jit):
    r = jit(
        """
        def unary(x):
            return -x, ~x, not x
        def contains(x, s, d, l):
            return x in s, x not in d, x in l, x not in "abc"
        def identity(a, b):
            return a is b, a is not b
        for i in range(4):
            print(unary(i), contains("a", {"a"}, {"b": 1}, ["a"]), contains("z", frozenset(), {}, ()))
            print(identity(None, None), identity([], []))
        print(unary(True))
        try:
            unary("x")
        except TypeError as e:
            print(e)
        """
    )
    r.assert_compiled("unary", "contains", "identity")
    assert "_CONTAINS_OP_SET" in r.uops("contains") or "_CONTAINS_OP" in r.uops("contains")


def test_len_of_builtin_containers_and_others(jit):
    r = jit(
        """
        class Sized:
            def __len__(self):
                return 2**40
        class Bad:
            def __len__(self):
                return -1
        things = [[], [1, 2], (), (1,) * 300, "", "abc", "h\u00e9llo \U0001f600", {}, {1: 2},
                  set(), {1, 2, 3}, b"xy", range(10**6), Sized(), Bad(), 5]
        def size(x):
            try:
                return len(x)
            except Exception as e:
                return type(e).__name__, str(e)
        for i in range(3):
            print([size(t) for t in things], size([0] * 1000) is 1000, size("x" * 200) is 200)
        """
    )
    r.assert_compiled("size")
    assert "_CALL_LEN" in r.uops("size")


def test_small_ints_in_lists_and_tuples(jit):
    # `in` over a list or tuple compares a small int inline while the items
    # are ints; any other item (a bool, a float, an object whose __eq__ has
    # side effects) sends the whole test the generic way, in order.
    r = jit(
        """
        class Loud:
            def __eq__(self, other):
                print("eq", other)
                return other == 7
            __hash__ = None
        nan = float("nan")
        big = 2**40
        seqs = [[1, 2, 3], (4, 5, 6), [], (), [2**40, -5], [True, 0], [1.0, 2.0], [7, Loud()],
                [Loud(), 7], (nan,), [big], list(range(-300, 300, 7))]
        needles = [1, 5, 7, -5, 0, True, 2**40, 1.0, nan, 294, -300, 10**6]
        def member(x, s):
            return x in s, x not in s
        for i in range(3):
            out = [member(x, s) for s in seqs for x in needles]
            print(out, member(big, seqs[-2]), member(nan, seqs[9]))
        """
    )
    r.assert_compiled("member")
    assert "_CONTAINS_OP" in r.uops("member")


def test_for_loops_over_range_list_tuple_and_iterators(jit):
    r = jit(
        """
        def over(seq):
            total = 0
            for x in seq:
                total += x
            return total
        def nested(n):
            out = []
            for i in range(n):
                for j in range(i, n, 2):
                    if j % 3 == 0:
                        continue
                    if j > 7:
                        break
                    out.append(i * j)
            return out
        def gen():
            yield 1
            yield 2
        for i in range(4):
            print(over(range(10)), over([1, 2, 3]), over((4, 5)), over(gen()), over(range(5, -5, -3)))
            print(nested(10))
        print(over([1.5, 2]), over(iter([7, 8])))
        def over_list(seq):
            total = 0
            for x in seq:
                total += x
            return total
        for i in range(4):
            print(over_list([1, 2, i]))
        print(over_list((1, 2)), over_list(range(3)))   # the list iterator guard fails
        """
    )
    r.assert_compiled("over", "nested", "over_list")
    assert "_ITER_NEXT_LIST" in r.uops("over_list")
    assert r.exits("generic:FOR_ITER_LIST")


def test_loops_over_ranges_beyond_a_c_long(jit):
    # A range iterates with a `range_iterator` while it fits a C long and
    # with a `longrange_iterator` beyond: code compiled while a loop saw
    # small ranges meets a huge one (Pollard's rho in more-itertools'
    # `factor` crashed so) and must keep telling them apart.
    r = jit(
        """
        def walk(n, stop):
            total = 0
            for b in range(1, n):
                total += b
                if b >= stop:
                    break
            return total
        def steps(lo, hi, step):
            out = []
            for v in range(lo, hi, step):
                out.append(v)
                if len(out) == 4:
                    break
            return out
        for k in range(4):
            print(walk(100, 10), walk(10**6, 20), steps(0, 50, 7))
        print(walk(2**70, 15), walk(2**63, 12), walk(2**63 - 1, 11), walk(2**64 + 3, 7))
        print(steps(2**64, 2**64 + 50, 7), steps(2**63 + 10, 2**63 - 10, -3))
        print(steps(-2**63 - 2, -2**63 + 2, 1), steps(0, 2**100, 2**62))
        for k in range(3):
            print(walk(30, 29), steps(10, -10, -6))
        """
    )
    r.assert_compiled("walk", "steps")
    assert "_ITER_NEXT_RANGE" in r.uops("walk")
    assert r.exits("generic:FOR_ITER_RANGE")


def test_loop_iterator_exhaustion_and_mutation(jit):
    r = jit(
        """
        def consume(it):
            n = 0
            for _ in it:
                n += 1
            return n
        def mutate():
            l = [1, 2, 3]
            seen = []
            for x in l:
                seen.append(x)
                if len(l) < 6:
                    l.append(x * 10)
            return seen
        class Bad:
            def __iter__(self):
                return self
            def __next__(self):
                raise ValueError("bad iterator")
        for i in range(4):
            it = iter([1, 2, 3])
            print(consume(it), consume(it), mutate())
            try:
                consume(Bad())
            except ValueError as e:
                print("ValueError", e)
        """
    )
    r.assert_compiled("consume", "mutate")


def test_unpack_sequence_all_forms(jit):
    r = jit(
        """
        def two(t):
            a, b = t
            return b, a
        def three(t):
            a = b = c = None
            b, a, c = t
            return c, b, a
        def from_list(t):
            a = b = c = None
            b, a, c = t
            return c, b, a
        def anything(t):
            a, b = t
            return a, b
        def star(t):
            a, *rest, z = t
            return a, rest, z
        # Two to four items unpack with stencils copied for their count.
        def four(t):
            a, b, c, d = t
            return d, c, b, a
        def five(t):
            a, b, c, d, e = t
            return e, d, c, b, a
        def two_list(t):
            a, b = t
            return b, a
        for i in range(4):
            print(two((1, 2)), three((1, 2, 3)), from_list([4, 5, 6]), anything("xy"), star(range(5)))
            print(two_list([i, 2]), four((1, 2, 3, i)), four([i, 5, 6, 7]), five((1, 2, 3, 4, i)))
        for bad in [(1,), (1, 2, 3), None, [1, 2], "ab", (1, 2, 3, 4), [1, 2, 3, 4, 5]]:
            for f in (two, three, from_list, four, five, two_list):
                try:
                    print(f(bad))
                except (ValueError, TypeError) as e:
                    print(type(e).__name__, e)
        """
    )
    r.assert_compiled("two", "three", "from_list", "anything", "star", "four", "five")
    assert "_UNPACK_SEQUENCE_TWO_TUPLE" in r.uops("two")
    assert "_UNPACK_SEQUENCE_TUPLE" in r.uops("three")
    assert "_UNPACK_SEQUENCE_LIST" in r.uops("from_list")
    assert r.exits("generic:UNPACK_SEQUENCE_")


def test_unpackings_into_locals(jit):
    # `a, b, c = t` of names first bound there: the unpacking stores into
    # the locals itself (`_UNPACK_SEQUENCE_INTO_LOCALS`), tuples and lists
    # alike, in the stores' order: a `__del__` of an old value (the first,
    # a later one, one held by all three locals) sees the locals stored
    # before it and the frame at the unpacking's line, and a list it
    # changes was read before. Other sequences, lengths and types take the
    # unpacking's fallback.
    r = jit(
        """
        import sys
        class Noisy:
            def __init__(self, name, lst=None):
                self.name, self.lst = name, lst
            def __repr__(self):
                return self.name
            def __del__(self):
                if self.lst is not None:
                    self.lst[2] = "changed"
                f = sys._getframe(1)
                seen = {k: v for k, v in f.f_locals.items() if k in ("a", "b", "c")}
                print("del", self.name, f.f_code.co_name, f.f_lineno, sorted(seen.items()))
        def three(t):
            a, b, c = t
            return c, b, a
        def noisy(make):
            a, b, c = make("1")
            a, b, c = make("2")
            return a.name + b.name + c.name
        def mixed(make):
            a, b, c = [1, Noisy("b1"), 2.5]
            a, b, c = make("2")
            return a.name + b.name + c.name
        def looped(ts):
            out = []
            for a, b, c, d in ts:
                out.append(a + b + c + d)
            return out
        def mutated(lst):
            a, b, c = Noisy("old", lst), 0, 0
            a, b, c = lst
            return a, b, c
        def shared(t):
            a = b = c = Noisy("shared")
            a, b, c = t
            return a, b, c
        class T(tuple):
            pass
        class L(list):
            pass
        as_list = lambda s: [Noisy("a" + s), Noisy("b" + s), Noisy("c" + s)]
        as_tuple = lambda s: (Noisy("a" + s), Noisy("b" + s), Noisy("c" + s))
        for i in range(4):
            print(three((1, 2, 3)), three([4, 5, i]), three("xyz"), three(T((7, 8, 9))), three(L([1, 2, i])))
            print(three(iter(range(3))), three({1: 0, 2: 0, 3: i}), three(x * i for x in range(3)))
            print(noisy(as_list), noisy(as_tuple), mixed(as_tuple), mixed(as_list))
            print(looped([(1, 2, 3, 4), [5, 6, 7, i], "abcd", range(4), (0.5, 1, 2, 3)]))
            print(mutated([1, 2, 3]))
            print(shared((i, "x", 2.5)), shared([Noisy("n1"), Noisy("n2"), i]))
        for bad in [(1, 2), [1, 2, 3, 4], None, 5, "ab", iter([1]), T((1,)), L()]:
            for f in (three, looped):
                try:
                    print(f(bad) if f is three else f([bad]))
                except (ValueError, TypeError) as e:
                    print(type(e).__name__, e)
        """
    )
    r.assert_compiled("three", "noisy", "mixed", "looped", "mutated", "shared")
    for name in ("three", "noisy", "mixed", "looped", "mutated", "shared"):
        assert "_UNPACK_SEQUENCE_INTO_LOCALS" in r.uops(name), name
    assert r.exits("generic:UNPACK_SEQUENCE_")


def test_build_containers(jit):
    r = jit(
        """
        def build(a, b):
            t = (a, b)
            l = [a, b, t]
            m = {a: b, "k": l}
            c = {"x": a, "y": b}
            s = {a, b}
            st = f"{a}-{b!r}-{b:>5}"
            sl = l[1:], l[::2], l[:-1]
            l[0:1] = [9]
            lc = [x * 2 for x in l if x]
            dc = {k: v for k, v in m.items()}
            sc = {x for x in (a, a, b)}
            u = [*l, *t]
            return t, l, m, c, s, st, sl, lc, dc, sc, u, {**c, **m}
        for i in range(4):
            print(build(i, "b"))
        try:
            build([], 1)
        except TypeError as e:
            print("TypeError", e)
        """
    )
    r.assert_compiled("build")


def test_subscripts(jit):
    r = jit(
        """
        def get_list(c, k):
            return c[k]
        def get_tuple(c, k):
            return c[k]
        def get_str(c, k):
            return c[k]
        def get_dict(c, k):
            return c[k]
        def get_any(c, k):
            return c[k]
        def put_list(c, k, v):
            c[k] = v
            return c
        def put_dict(c, k, v):
            c[k] = v
            return c
        def remove(c, k):
            del c[k]
            return c
        getters = (get_list, get_tuple, get_str, get_dict, get_any)
        for i in range(4):
            print(get_list([1, 2, 3], 1), get_tuple((4, 5), 0), get_str("abc", 2), get_dict({"a": 1}, "a"))
            print(get_any(range(9), 3), get_str("ü€", 1), put_list([0, 0], 1, i), put_dict({}, "k", i))
            print(remove([1, 2, 3], 0), remove({1: 2}, 1))
        for c, k in [([1], 5), ((), 0), ({}, "missing"), ("", 0), ([1], -1), ({}, []), ("é", 0), ([1], True)]:
            for f in getters:
                try:
                    print(f(c, k))
                except (IndexError, KeyError, TypeError) as e:
                    print(type(e).__name__, e)
        for c, k in [([1], 3), ({}, [1]), ((1,), 0), ([1, 2], -1)]:
            for f in (put_list, put_dict):
                try:
                    print(f(c, k, 0))
                except (IndexError, TypeError) as e:
                    print(type(e).__name__, e)
        """
    )
    r.assert_compiled("get_list", "get_tuple", "get_str", "get_dict", "get_any", "put_list", "put_dict", "remove")
    # (Of two locals: borrowed, `optimize::borrow`.)
    assert "_BINARY_SUBSCR_LIST_INT_BORROWED" in r.uops("get_list")
    assert "_BINARY_SUBSCR_TUPLE_INT_BORROWED" in r.uops("get_tuple")
    assert "_BINARY_SUBSCR_STR_INT" in r.uops("get_str")
    assert "_BINARY_SUBSCR_DICT" in r.uops("get_dict")
    assert "_STORE_SUBSCR_LIST_INT_BORROWED" in r.uops("put_list")
    assert "_STORE_SUBSCR_DICT" in r.uops("put_dict")
    assert r.exits("generic:BINARY_SUBSCR_LIST_INT")


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_negative_and_unspecialized_subscripts(jit, threshold):
    # Subscripts CPython leaves unspecialized (`stack[-1]`: negative ints,
    # mixed containers): lists and tuples by one-digit ints, negative ones
    # counting from the end, in line; anything else the generic way, with
    # its errors.
    r = jit(
        """
        class L(list):
            def __getitem__(self, k):
                return ("L", k)
            def __setitem__(self, k, v):
                print("L set", k, v)
        def get(c, k):
            return c[k]
        def put(c, k, v):
            c[k] = v
            return c
        def last_char(line):
            return line[-1] + line[0]
        def peek(stack):
            total = 0
            for i in range(-len(stack), 0):
                total += stack[i] + stack[-1]
                stack[-1] = stack[i]
            return total, stack
        big = 2 ** 30
        for rep in range(6):
            print(peek([1, 2, 3, 4]), peek((1, 2, 3)[:] and [5]))
            for line in ("ab\\n", "x", "é€", "aé", [1, 2], (3,), "", {0: 1}):
                try:
                    print(repr(last_char(line)), end=" ")
                except (IndexError, KeyError, TypeError) as e:
                    print(type(e).__name__, e, end=" ")
            print()
            for c in ([10, 11, 12], (20, 21, 22), "xyz", "é€x", "", {-1: "m"}, L([1, 2]), range(3), b"ab"):
                for k in (-1, -3, -4, 2, 3, 0, -big, big, True, -0, 1.0):
                    try:
                        print(repr(get(c, k)), end=" ")
                    except (IndexError, KeyError, TypeError) as e:
                        print(type(e).__name__, e, end=" ")
                print()
            for c in ([10, 11, 12], {}, L([1]), (1, 2), bytearray(b"abc")):
                for k in (-1, -3, -4, 3, -big, False):
                    try:
                        print(put(c.copy() if hasattr(c, "copy") else c, k, 99), end=" ")
                    except (IndexError, TypeError, ValueError) as e:
                        print(type(e).__name__, e, end=" ")
                print()
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("get", "put", "peek", "last_char")
    if threshold == "2":
        assert "_BINARY_SUBSCR_ADAPTIVE" in r.uops("get")
        assert "_BINARY_SUBSCR_ADAPTIVE" in r.uops("last_char")
        assert "_STORE_SUBSCR_ADAPTIVE" in r.uops("put")


def test_slices_of_builtin_containers_and_others(jit):
    # `a[i:j]` and `a[i:j] = v`: exact lists, tuples, strs and bytes with bounds of
    # None or one-digit ints are sliced directly; every other container,
    # bound or value goes the interpreter's way (its error messages, the
    # order in which bounds are converted and freed).
    r = jit(
        """
        class Index:
            def __init__(self, i):
                self.i = i
            def __index__(self):
                print("index", self.i)
                return self.i
            def __del__(self):
                print("del", self.i)
            def __repr__(self):
                return f"Index({self.i})"
        class L(list):
            pass
        class It:
            def __iter__(self):
                return iter([5, 6])
            def __repr__(self):
                return "It()"
        class Seq:
            def __repr__(self):
                return "Seq()"
            def __getitem__(self, k):
                return ("got", k)
            def __setitem__(self, k, v):
                print("set", k, v)
        def get(c, i, j):
            return c[i:j]
        def get_head(c, j):
            return c[:j]
        def get_tail(c, i):
            return c[i:]
        def get_all(c):
            return c[:]
        def put(c, i, j, v):
            c[i:j] = v
            return c
        def put_all(c, v):
            c[:] = v
            return c
        big = 2 ** 40
        containers = [[0, 1, 2, 3, 4], (0, 1, 2, 3, 4), "abcde", "äb€de😀", b"abcde",
                      bytearray(b"abc"), range(7), L([1, 2, 3]), Seq(), {}, [], (), ""]
        bounds = [None, 0, 1, 3, -1, -2, -9, 9, 5, big, -big, True, False, 2 ** 30, -(2 ** 30), 1.5, "x"]
        for rep in range(2):
            for c in containers:
                for i in bounds:
                    for j in bounds:
                        try:
                            print(repr(get(c, i, j)), end=" ")
                        except Exception as e:
                            print(type(e).__name__, e, end=" ")
                    try:
                        print(repr(get_head(c, i)), repr(get_tail(c, i)), end=" ")
                    except Exception as e:
                        print(type(e).__name__, e, end=" ")
                try:
                    print(repr(get_all(c)))
                except Exception as e:
                    print(type(e).__name__, e)
        t, s, l = (1, 2, 3), "".join(["ab", "cd"]), [1, 2]
        print(get_all(t) is t, get(t, 0, 3) is t, get(t, 0, big) is t, get(t, 2, 1) is (), get(t, 1, 3) == (2, 3))
        print(get_all(s) is s, get(s, -big, big) is s, get(s, 3, 1) is "", get_all(l) is l, get_all(l) == l)
        bb = bytes([7, 8, 9, 10])
        print(get_all(bb) is bb, get(bb, 1, 2) is get(bb, 1, 2), get(bb, 3, 1) is b"", get(bb, -3, -1))
        print(get(l, Index(0), Index(1)), get("abc", Index(1), None), get(b"abc", None, Index(2)))
        values = [[7, 8], (7,), [], (), "xy", It(), 3, None, {1: 2}, range(2)]
        for rep in range(2):
            for c in ([0, 1, 2, 3], L([0, 1, 2]), bytearray(b"abc"), (1, 2), Seq(), {}):
                for i, j in [(None, None), (1, 3), (3, 1), (-1, None), (None, -9), (9, 10), (big, None), (1.0, 2), (True, Index(2))]:
                    for v in values:
                        target = c.copy() if hasattr(c, "copy") else c
                        try:
                            print(put(target, i, j, v), end=" ")
                        except Exception as e:
                            print(type(e).__name__, e, end=" ")
                print()
        a = [1, 2, 3]
        print(put_all(a, a), put(a, 1, 2, a), put_all(a, (a, a)) is a)
        print(put(L([1]), 0, 0, [9]), type(put(L([1]), 0, 0, [9])).__name__)
        def boom():
            return [1, 2][:"x"]
        def boom_store():
            x = [1, 2]
            x[1:2] = 5
        for f in (boom, boom_store):
            try:
                f()
            except TypeError as e:
                import traceback
                traceback.print_exc()
        """
    )
    r.assert_compiled("get", "get_head", "get_tail", "get_all", "put", "put_all")
    assert "_BINARY_SLICE" in r.uops("get")
    assert "_STORE_SLICE" in r.uops("put")


def test_globals_and_builtins(jit):
    r = jit(
        """
        G = 10
        def use():
            return G + len("abc") + abs(-1)
        def missing():
            return undefined_name
        for i in range(4):
            print(use())
        G = 20              # rebinding a global is seen by compiled code
        print(use())
        import builtins
        real_len = builtins.len
        builtins.len = lambda x: 100   # and so is rebinding a builtin
        print(use())
        builtins.len = real_len
        print(use())
        for i in range(3):
            try:
                missing()
            except NameError as e:
                print("NameError", e)
        """
    )
    r.assert_compiled("use")
    # Burned in (the entry guard), or loaded with guards once it changed.
    assert {"_CHECK_GLOBALS", "_LOAD_GLOBAL_MODULE", "_LOAD_GLOBAL_BUILTINS"} & set(r.uops("use"))


def test_attributes_instance_slot_module_class_method(jit):
    r = jit(
        """
        import math
        class P:
            k = 7
            def __init__(self, x):
                self.x = x
            def get(self):
                return self.x
        class S:
            __slots__ = ("a",)
            def __init__(self):
                self.a = 1
        def attrs(p, s, m=math):
            p.x = p.x + 1
            s.a = s.a + 2
            return p.x, s.a, p.k, P.k, math.pi, m.e, p.get(), "x".upper(), [].copy()
        p, s = P(1), S()
        for i in range(5):
            print(attrs(p, s))
        P.k = 8             # a class attribute changed after compilation
        p.__dict__["x"] = 100
        print(attrs(p, s))
        class Q(P):
            pass
        print(attrs(Q(5), s))
        try:
            attrs(object(), s)
        except AttributeError as e:
            print("AttributeError", e)
        """
    )
    r.assert_compiled("attrs")
    uops = r.uops("attrs")
    assert "_GUARD_TYPE_VERSION" in uops
    # (A local's attribute: read in place with its class checks,
    # `optimize::fuse`.)
    assert "_LOAD_ATTR_INSTANCE_VALUE_LOCAL" in uops
    assert "_STORE_ATTR_INSTANCE_VALUE_BORROWED" in uops
    assert "_LOAD_ATTR_SLOT_BORROWED" in uops
    # A module global's attribute is burned in (`optimize::globals`); a
    # local module's is read from its dict.
    assert "_CHECK_CONST_MODULE" in uops and "_LOAD_ATTR_MODULE" in uops
    assert r.exits("generic:LOAD_ATTR_") or r.exits("generic:STORE_ATTR_")


def test_calls_builtin_method_python_kw_and_classes(jit):
    r = jit(
        """
        def callee(a, b=2, *, c=3):
            return a + b + c
        class K:
            def __init__(self, v):
                self.v = v
            def m(self, x):
                return self.v * x
        def calls(xs):
            out = []
            out.append(len(xs))
            out.append(isinstance(xs, list))
            out.append(callee(1))
            out.append(callee(1, 5, c=7))
            out.append(K(3).m(4))
            out.append(str(5) + repr(xs))
            out.append(tuple(xs))
            out.append(type(xs).__name__)
            out.append(max(xs, default=0))
            out.append(sorted(xs, key=lambda v: -v))
            out.append(",".join(map(str, xs)))
            out.append(divmod(7, 2))
            return out
        for i in range(5):
            print(calls([3, 1, 2]))
        try:
            callee()
        except TypeError as e:
            print("TypeError", e)
        def builtin_o(x):
            return abs(x), len(x if isinstance(x, list) else [x])
        for i in range(4):
            print(builtin_o(-i))
        abs = lambda v: "shadowed"       # the builtin is replaced by a global
        print(builtin_o(-3))
        """
    )
    r.assert_compiled("calls", "builtin_o")
    uops = r.uops("calls")
    assert "_CALL_BUILTIN_O" in uops or "_CALL_LEN" in uops
    assert "_CALL" in uops
    # The shadowed builtin: burned in, then invalidated and compiled again
    # (or, loaded with guards, their fallback ran).
    assert r.state("builtin_o")["recompiles"] or r.exits("generic:LOAD_GLOBAL")


def test_class_calls_run_a_compiled_init(jit):
    # Classes whose instances come from object.__new__ and whose __init__
    # is a plain Python function are instantiated without type_call (the
    # interpreter's CALL_ALLOC_AND_ENTER_INIT); every other kind of class
    # call, and every way __init__ can misbehave, as the interpreter does.
    r = jit(
        """
        class P:
            def __init__(self, x, y):
                self.x = x; self.y = y
        class Sub(P):
            pass
        class Bad:
            def __init__(self):
                return 42
        class Raises:
            def __init__(self, v):
                if v:
                    raise ValueError(v)
                self.v = v
        class WithNew:
            def __new__(cls, *a):
                o = super().__new__(cls)
                o.tag = "new"
                return o
            def __init__(self, a):
                self.a = a
        class Meta(type):
            def __call__(cls, *a):
                return ("meta", a)
        class M(metaclass=Meta):
            def __init__(self, a):
                self.a = a
        class Slots:
            __slots__ = ("a",)
            def __init__(self, a):
                self.a = a
        class FromList(list):
            def __init__(self, a):
                super().__init__([a])
        class Defaults:
            def __init__(self, a, b=2):
                self.s = a + b
        def make(i):
            out = [vars(P(i, i + 1)), vars(Sub(i, 0))]
            try:
                Bad()
            except TypeError as e:
                out.append(str(e))
            try:
                out.append(vars(Raises(i % 2)))
            except ValueError as e:
                out.append(("raised", e.args))
            out += [WithNew(i).tag, M(i), Slots(i).a, FromList(i), Defaults(i).s]
            try:
                P(i)
            except TypeError as e:
                out.append(str(e))
            return out
        for i in range(6):
            print(make(i))
        P.__init__ = lambda self, x, y: setattr(self, "z", x * y)
        print(make(7))
        def init2(self, x, y):
            self.w = (x, y)
        P.__init__ = init2
        print(make(8))
        Raises(1)
        """,
        fails=True,
    )
    r.assert_compiled("make", "Raises.__init__", "Defaults.__init__")


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_classes_with_slots_run_a_compiled_init(jit, chaos):
    # The interpreter specializes a call of a class whose instances have
    # __slots__ (no inline values) as CALL_NON_PY_GENERAL; compiled, such a
    # call makes the instance and enters the compiled __init__ directly,
    # as for the classes CPython specializes, through the generic _CALL its
    # guard falls back to. Every kind of slots class, every way __init__
    # can misbehave, and the other callables that reach the same site,
    # behave as in the interpreter.
    # With JITSAW_CHAOS, compiled code also deopts at random points,
    # inside such an __init__ too, which the interpreter then finishes.
    r = jit(
        """
        import abc, functools, gc, sys, traceback, weakref
        class S:
            __slots__ = ("a", "b")
            def __init__(self, a, b=0):
                self.a = a; self.b = b
        class Weak:
            __slots__ = ("a", "__weakref__")
            def __init__(self, a):
                self.a = a
        class WithDict:
            __slots__ = ("a", "__dict__")
            def __init__(self, a):
                self.a = a; self.extra = -a
        class Sub(S):
            __slots__ = ("c",)
            def __init__(self, a):
                super().__init__(a, 1)
                self.c = a * 2
        class Base:
            def __init__(self, a):
                self.a = a
        class OnBase(Base):
            __slots__ = ()
        class Bad:
            __slots__ = ()
            def __init__(self, a):
                return a
        class Raises:
            __slots__ = ("a",)
            def __init__(self, a):
                if a % 3 == 2:
                    raise ValueError(a)
                self.a = a
        class Abstract(abc.ABC):
            __slots__ = ()
            @abc.abstractmethod
            def f(self): ...
            def __init__(self, a):
                pass
        class Dies:
            __slots__ = ("a",)
            def __init__(self, a):
                self.a = a
            def __del__(self):
                print("del", self.a)
        class Deep:
            __slots__ = ("child",)
            def __init__(self, n):
                self.child = Deep(n - 1) if n else None
        class Called:
            def __call__(self, a):
                return ("called", a)
        def describe(o):
            if isinstance(o, (S, Weak, Raises, Dies)):
                return (type(o).__name__, o.a)
            if isinstance(o, WithDict):
                return ("WithDict", o.a, o.extra)
            if isinstance(o, Sub):
                return ("Sub", o.a, o.b, o.c)
            if isinstance(o, Base):
                return (type(o).__name__, o.a)
            return o
        def make(n, classes):
            out = []
            for i in range(n):
                for cls in classes:
                    try:
                        out.append(describe(cls(i)))
                    except (TypeError, ValueError):
                        out.append(traceback.format_exc().splitlines()[-3:])
            return out
        kinds = (S, Weak, WithDict, Sub, OnBase, Bad, Raises, Abstract,
                 functools.partial(max, 3), Called(), int, Dies)
        def inits():
            j = sys.modules.get("jitsaw")
            return j.stats()["inits_entered"] if j and j.is_enabled() else 0
        print(make(2, kinds))
        print(make(2, kinds))
        before = inits()
        for k in range(3):
            print(make(40, kinds))
        _record("entered", inits() - before)
        w = Weak(5)
        ref = weakref.ref(w)
        print(ref() is w, make(1, (Weak,)))
        del w
        gc.collect()
        print(ref())
        def init(self, a):
            self.a = -a
        S.__init__ = init
        S.__new__ = lambda cls, *args: object.__new__(cls)
        print(make(3, (S, Sub)))
        try:
            Deep(100000)
        except RecursionError:
            print("RecursionError")
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100, r.stats["deopts"]
        return
    r.assert_compiled("make", "Weak.__init__", "WithDict.__init__", "Raises.__init__")
    # The calls compiled after the interpreter specialized the site entered
    # the __init__ of every plain class directly: S, Weak, WithDict, Sub,
    # OnBase, Raises and Dies (Bad's and Abstract's fail first or after).
    assert r.recorded["entered"] >= 3 * 40 * 7, r.recorded["entered"]


@pytest.mark.parametrize("threshold", ["0", "2"])
def test_class_calls_see_init_given_new_code(jit, threshold):
    # A call site that entered a class's compiled __init__ remembers the
    # class by its type version, which vouches for the __init__ function
    # but not for that function's code: after `C.__init__.__code__ = ...`
    # the new code runs (with more locals and other constants, or taking
    # other arguments), as in the interpreter, at a generic site (a loop
    # compiled at its first call, at threshold 0) and a specialized one
    # (compiled at its third call, after a warm-up) alike.
    r = jit(
        """
        class C:
            def __init__(self, a):
                self.a = a
        def more_locals(self, a):
            x, y, z = a * 2, "consts", [a]
            self.a = (x, y, z)
        def fewer_args(self):
            self.a = "none"
        def make(n, switch_at, new):
            out = []
            for i in range(n):
                try:
                    out.append(C(i).a)
                except TypeError as e:
                    out.append(str(e))
                if i == switch_at:
                    C.__init__.__code__ = new.__code__
            return out[switch_at - 2:switch_at + 3]
        first = C.__init__.__code__
        for new in (more_locals, fewer_args, more_locals):
            print(make(100, 50, new))
            C.__init__.__code__ = first
        for k in range(4):
            print(make(30, 20, more_locals))
            C.__init__.__code__ = first
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("make")
    assert r.stats["inits_entered"] > (100 if threshold == "0" else 20), r.stats["inits_entered"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_class_calls_leaving_init_arguments_to_defaults(jit, chaos):
    # A class whose __init__ has defaults, called with fewer arguments, gets
    # its instance made and __init__ entered directly too, the rest bound
    # to the function's own default objects; replacing __defaults__ (the
    # class's version does not change) is seen at once, and calls that
    # cannot bind (too few, a default removed) raise as in the interpreter.
    # With JITSAW_CHAOS, compiled code also deopts at random points,
    # inside such an __init__ too, which the interpreter then finishes.
    r = jit(
        """
        import sys
        shared = []
        class V:
            __slots__ = ("name", "value", "seen")
            def __init__(self, name, value=0, seen=shared):
                self.name = name; self.value = value; self.seen = seen
        class W:
            def __init__(self, a, b=2, c=3):
                self.s = (a, b, c)
        def inits():
            j = sys.modules.get("jitsaw")
            return j.stats()["inits_entered"] if j and j.is_enabled() else 0
        def make(n, switch_at):
            out = []
            for i in range(n):
                try:
                    v = V(i)
                    out.append((v.value, v.seen is shared, V(i, 7).value, W(i).s, W(i, 1).s))
                    out.append(W(i, 1, 0).s)
                    out.append(W().s)
                except TypeError as e:
                    out.append(str(e))
                if i == switch_at:
                    V.__init__.__defaults__ = (-1, None)
                    W.__init__.__defaults__ = (5,)
                if i == switch_at + 2:
                    V.__init__.__defaults__ = None
            return out[switch_at - 2:]
        for k in range(2):
            print(make(4, 1))
            V.__init__.__defaults__ = (0, shared)
            W.__init__.__defaults__ = (2, 3)
        before = inits()
        for k in range(3):
            print(make(30, 20))
            V.__init__.__defaults__ = (0, shared)
            W.__init__.__defaults__ = (2, 3)
        _record("entered", inits() - before)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100, r.stats["deopts"]
        return
    r.assert_compiled("make", "V.__init__", "W.__init__")
    # Each iteration before the switch: V(i), V(i, 7), W(i), W(i, 1),
    # W(i, 1, 0), all entered directly.
    assert r.recorded["entered"] >= 3 * 20 * 5, r.recorded["entered"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_class_calls_with_keywords_run_a_compiled_init(jit, chaos):
    # CALL_KW of a plain class (a dataclass made with keywords) makes the
    # instance and runs its compiled __init__ with the arguments bound as
    # the interpreter binds them, without type_call: keywords, defaults,
    # keyword-only and **kwargs parameters, every binding error, results
    # other than None, exceptions, finalizers of instances whose __init__
    # could not bind, and other kinds of class, as in the interpreter.
    # With JITSAW_CHAOS, compiled code also deopts at random points,
    # inside such an __init__ too, which the interpreter then finishes.
    r = jit(
        """
        import abc, sys
        from dataclasses import dataclass, field
        @dataclass
        class P:
            x: int
            y: int = 0
            tags: list = field(default_factory=list)
        @dataclass(slots=True, kw_only=True)
        class K:
            a: int
            b: str = "b"
        class Extra:
            def __init__(self, a, *rest, k=1, **more):
                self.v = (a, rest, k, sorted(more))
        class Bad:
            def __init__(self, a=0):
                return a
        class Dies:
            def __init__(self, a):
                self.a = a
            def __del__(self):
                print("del", getattr(self, "a", None))
        class WithNew:
            def __new__(cls, **kw):
                o = object.__new__(cls)
                o.kw = sorted(kw)
                return o
        class Abstract(abc.ABC):
            @abc.abstractmethod
            def f(self): ...
            def __init__(self, a=0):
                pass
        def inits():
            j = sys.modules.get("jitsaw")
            return j.stats()["inits_entered"] if j and j.is_enabled() else 0
        def make(n):
            out = []
            for i in range(n):
                out.append(P(x=i, y=2))
                out.append(P(i, tags=[i]))
                out.append(K(a=i))
                out.append(Extra(i, 2, k=3, z=4).v)
                for call in (lambda: P(y=1), lambda: P(1, x=2), lambda: P(x=1, q=2),
                             lambda: K(i), lambda: Bad(a=i), lambda: Dies(b=i),
                             lambda: Abstract(a=1)):
                    try:
                        out.append(call())
                    except TypeError as e:
                        out.append(str(e))
                out.append(Dies(a=i).a)
                out.append(WithNew(q=i).kw)
            return out
        print(make(2))
        print(make(2))
        before = inits()
        for k in range(3):
            print(make(20))
        _record("entered", inits() - before)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100, r.stats["deopts"]
        return
    r.assert_compiled("make", "Extra.__init__")
    # P twice, K, Extra and Dies in every iteration at least.
    assert r.recorded["entered"] >= 3 * 20 * 5, r.recorded["entered"]


def test_calls_leaving_arguments_to_defaults(jit):
    # A call passing fewer positional arguments than the function takes, the
    # rest from its defaults, enters its compiled code directly too (the
    # interpreter's CALL_PY_WITH_DEFAULTS): the defaults are the function's
    # own objects, replacing __defaults__ is seen at once, and calls that
    # cannot bind this way (too few, too many, keywords) raise as they do
    # in the interpreter.
    r = jit(
        """
        def scale(x, k=2, extra=[]):
            extra.append(x)
            return x * k, len(extra)
        def pick(a, b=None, *, c=1):
            return (a, b, c)
        class P:
            def move(self, dx=1, dy=-1):
                return (dx, dy)
        def drive(n):
            out = []
            p = P()
            for i in range(n):
                out.append(scale(i))
                out.append(scale(i, 3))
                out.append(p.move())
                out.append(p.move(i))
                out.append(pick(i))
                try:
                    scale()
                except TypeError as e:
                    out.append(str(e))
                try:
                    scale(1, 2, [], 4)
                except TypeError as e:
                    out.append(str(e))
            return out
        for i in range(4):
            print(drive(5))
        scale.__defaults__ = (10, [])
        print(drive(3))
        scale.__defaults__ = None
        try:
            print(drive(1))
        except TypeError as e:
            print(e)
        """
    )
    r.assert_compiled("drive", "scale", "P.move")
    assert r.stats["frames_entered"] > 50


def test_calls_binding_keywords_enter_compiled_code(jit):
    # Calls with keyword arguments (CALL_KW), and calls of functions with
    # keyword-only parameters, *args or **kwargs, enter the callee's
    # compiled code directly, with the arguments bound as the interpreter
    # binds them: no C recursion, so recursion as deep as the recursion
    # limit allows works, as in the interpreter (through the frame hook it
    # ran out of C stack first). Binding errors and the callee's exceptions
    # are what they are in the interpreter.
    r = jit(
        """
        import sys, traceback
        def kwonly(a, *, sep="-", end="!"):
            return f"{a}{sep}{end}"
        def star(*args, **kw):
            return len(args), sorted(kw)
        def deep(n, *, acc=0):
            return acc if n == 0 else deep(n - 1, acc=acc + n)
        def deep_defaults(n, *, acc=0):
            return acc if n == 0 else deep_defaults(n - 1)
        def boom(x, *, y):
            return x / y
        class K:
            def m(self, a, *, b=2):
                return a * b
        def drive(n):
            out = []
            k = K()
            for i in range(n):
                out.append(kwonly(i))
                out.append(kwonly(i, sep="+"))
                out.append(kwonly(a=i, end="?"))
                out.append(star(i, i, x=1))
                out.append(k.m(i, b=3))
                out.append(k.m(i))
                for bad in ({"bad": 1}, {"a": 1}):
                    try:
                        kwonly(i, **bad)
                    except TypeError as e:
                        out.append(str(e))
                try:
                    kwonly(sep="")
                except TypeError as e:
                    out.append(str(e))
                try:
                    boom(i, y=0)
                except ZeroDivisionError as e:
                    out.append(repr(e))
            return out
        for i in range(4):
            print(drive(20))
        sys.setrecursionlimit(30000)
        for f in (deep, deep_defaults):
            for depth in (50, 50, 50, 20000):
                try:
                    print(f(depth))
                except RecursionError as e:
                    print("RecursionError", e)
        try:
            boom(1, y=0)
        except ZeroDivisionError:
            traceback.print_exc(file=sys.stdout)
        """
    )
    r.assert_compiled("drive", "kwonly", "star", "deep", "deep_defaults", "K.m")
    assert "_CALL_KW" in r.uops("drive")


def test_keyword_calls_bound_from_their_site_cache(jit):
    # A CALL_KW site remembers how the keywords of a call of a function
    # with only positional-or-keyword parameters bind (which parameter each
    # names, which are left to defaults): the next call of that function
    # with the same names copies the arguments into the frame, as the
    # interpreter would bind them. Anything else takes the general binding,
    # which raises what the interpreter raises: a keyword naming a
    # parameter given by position, a positional-only one, an unknown name,
    # a missing argument; and a change to the function's defaults or code,
    # or another function with other parameters at the same site, is seen
    # at the next call.
    r = jit(
        """
        import sys
        def f(a, b=1, c=2):
            return (a, b, c)
        def g(a, b, c=7, d=8):
            return (a, b, c, d)
        def posonly(a, /, b=2, c=3):
            return (a, b, c)
        def other(a, c, b=6):
            return ("other", a, b, c)
        class K:
            def m(self, x, y=10, z=20):
                return (x, y, z)
        def many(a0, a1=1, a2=2, a3=3, a4=4, a5=5, a6=6, a7=7, a8=8, a9=9,
                 b0=0, b1=1, b2=2, b3=3, b4=4, b5=5, b6=6, b7=7, b8=8):
            return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8
        def call(fn, i):
            return fn(i, c=i + 1)
        def drive(n):
            out = []
            k = K()
            for i in range(n):
                out.append(f(i, c=3))
                out.append(f(i, c=4, b=5))
                out.append(f(c=i, a=1))
                out.append(f(b=i, a=2))
                out.append(g(i, c=0, b=1))
                out.append(g(i, i, d=0))
                out.append(posonly(i, c=0))
                out.append(k.m(i, z=i))
                out.append(K.m(k, i, y=1))
                out.append(many(i, b8=i, a1=2, b0=1, a9=0, a2=1, a3=1, a4=1, a5=1, a6=1, a7=1, a8=1, b1=1, b2=1, b3=1, b4=1, b5=1))
                out.append(many(i, b8=i, a1=2, b0=1, a9=0, a2=1, a3=1, a4=1, a5=1, a6=1, a7=1, a8=1, b1=1, b2=1, b3=1, b4=1, b5=1, b6=0, b7=0))
                out.append(call(f if i % 3 else other, i))
                for bad in range(5):
                    try:
                        if bad == 0:
                            f(i, a=1)
                        elif bad == 1:
                            posonly(a=i)
                        elif bad == 2:
                            f(i, d=1)
                        elif bad == 3:
                            g(i, c=1)
                        else:
                            f(b=1, c=2)
                    except TypeError as e:
                        out.append(str(e))
            return out
        for rnd in range(4):
            print(drive(20))
        def attempt(n):
            try:
                print(drive(n))
            except TypeError as e:
                print("TypeError", e)
        # The defaults change: the version vouching for them changes too.
        for defaults in ((100, 200), (300,), None, (1, 2)):
            f.__defaults__ = defaults
            attempt(3)
        # The code changes: other parameter names.
        f.__code__ = other.__code__
        attempt(3)
        f.__code__ = (lambda a, b=1, c=2: ("new", a, b, c)).__code__
        f.__defaults__ = (1, 2)
        attempt(3)
        # The same changes within a loop, with nothing compiled meanwhile.
        def h(a, b=1, c=2):
            return ("h", a, b, c)
        def h2(a, c=5, b=6):
            return ("h2", a, b, c)
        h_code, h2_code = h.__code__, h2.__code__
        def flip(n):
            out = []
            for i in range(n):
                if i % 10 == 3:
                    h.__defaults__ = ((100, 200), (300,), None, (1, 2))[i // 10 % 4]
                if i % 10 == 6:
                    h.__code__ = (h_code, h2_code)[i // 10 % 2]
                try:
                    out.append(h(i, c=3))
                except TypeError as e:
                    out.append(str(e))
            return out
        h2(1)
        for rnd in range(3):
            print(flip(80))
        # A callee entered from the cache raises: the same exceptions and
        # traceback as in the interpreter.
        import traceback
        def div(a, b=1):
            return a / b
        def divide(n):
            out = []
            for i in range(n):
                try:
                    out.append(div(i, b=i % 3))
                except ZeroDivisionError as e:
                    out.append(repr(e))
            return out
        print(divide(40))
        try:
            divide(1)
            div(1, b=0)
        except ZeroDivisionError:
            traceback.print_exc(file=sys.stdout)
        def tb_site(b):
            return div(1, b=b)
        for b in (1, 2, 4) * 10:
            tb_site(b)
        try:
            tb_site(0)
        except ZeroDivisionError:
            traceback.print_exc(file=sys.stdout)
        # Deep recursion through a cached keyword call.
        def deep(n, acc=0):
            return acc if n == 0 else deep(n - 1, acc=acc + 1)
        sys.setrecursionlimit(20000)
        for depth in (50, 50, 50, 15000):
            print(deep(depth))
        """
    )
    r.assert_compiled(
        "drive", "f", "g", "posonly", "K.m", "many", "call", "deep", "flip", "h", "h2", "div", "tb_site"
    )
    assert "_CALL_KW" in r.uops("drive")
    assert r.stats["keyword_calls_cached"] > 500, r.stats["keyword_calls_cached"]


def test_call_sites_calling_functions_in_turn(jit):
    # A call site remembers the last two functions it entered directly: one
    # calling two in turn enters both the quick way; more than two are found
    # in entries shared by all sites (by function version), as quickly. A
    # change to the one remembered second is seen at once, as one to the
    # first or to one only the shared entries hold: its code replaced, its
    # defaults, a method replaced, a generator function.
    r = jit(
        """
        def double(x, k=2):
            return x * k
        def negate(x, k=-1):
            return x * k
        def gen(x, k=0):
            yield x + k
        def other(x, k=1):
            return (x, k)
        class Shape:
            def area(self, s):
                return s * s
        class Circle(Shape):
            def area(self, s):
                return 3 * s * s
        def drive(fs, n):
            out = []
            for i in range(n):
                f = fs[i % len(fs)]
                r = f(i)
                out.append(list(r) if not isinstance(r, int) else r)
            return out
        def shapes(objs, n):
            return [objs[i % len(objs)].area(i) for i in range(n)]
        for k in range(6):
            print(drive([double, negate], 20))
            print(drive([double, negate, gen], 9))
            print(shapes([Shape(), Circle()], 10))
        def triple(x, k=3):
            return x * k
        def square(x, k=None):
            return x * x
        four = [double, negate, triple, square]
        for k in range(6):
            print(drive(four, 12))
        negate.__code__ = other.__code__
        print(drive([double, negate], 6))
        double.__defaults__ = (10,)
        print(drive([double, negate], 6))
        triple.__code__ = gen.__code__
        square.__defaults__ = (5,)
        print(drive(four, 12))
        Circle.area = lambda self, s: -s
        print(shapes([Shape(), Circle()], 6))
        """
    )
    r.assert_compiled("drive", "double", "negate", "shapes")
    assert r.stats["frames_entered"] > 200


def test_bound_methods_called_directly(jit):
    # A bound method object called (a callback, `m = obj.meth; m(x)`) is
    # unpacked into function and self and its compiled code entered
    # directly: the frames, tracebacks, recursion limit and keyword or
    # wrong-count calls look as in the interpreter.
    r = jit(
        """
        import sys, traceback
        class Acc:
            def __init__(self):
                self.total = 0
            def add(self, x):
                self.total += x
                return self.total
            def who(self):
                return sys._getframe(1).f_code.co_name
            def boom(self, x):
                if x == 3:
                    raise ValueError(x)
                return x
            def deep(self, n):
                return self.deep_ref(n - 1) + 1 if n else 0
        def drive(callbacks, k):
            out = []
            for i in range(k):
                for cb in callbacks:
                    try:
                        out.append(cb(i))
                    except ValueError:
                        out.append(traceback.format_exc().splitlines()[-3:])
            return out
        a = Acc()
        a.deep_ref = a.deep
        for r in range(4):
            print(drive([a.add, a.boom, abs], 5))
        def caller():
            w = a.who
            return w(), w.__func__(a)
        print(caller(), caller())
        print(drive([a.add], 2), a.add(x=1))
        try:
            drive([a.who], 1)
        except TypeError as e:
            print("TypeError", e)
        try:
            a.deep(100000)
        except RecursionError:
            print("RecursionError")
        print(a.deep(50))
        """
    )
    r.assert_compiled("drive", "Acc.add")
    assert r.stats["frames_entered"] > 0


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_class_instantiation_enters_init(jit, chaos):
    # CALL_ALLOC_AND_ENTER_INIT: the instance is made and a compiled
    # __init__ entered directly; its result is checked for None, its
    # exceptions and frames look as in the interpreter (whose shim frame is
    # invisible), and a class changed afterwards goes the general way. With
    # JITSAW_CHAOS, compiled code also deopts at random points, inside an
    # __init__ entered directly too, which the interpreter then finishes.
    r = jit(
        """
        import sys, traceback
        class P:
            def __init__(self, x, y):
                self.x = x; self.y = y
        class Bad:
            def __init__(self, v):
                self.v = v
                if v == 29:
                    return 5
        class Raises:
            def __init__(self, v):
                if v % 10 == 9:
                    raise ValueError(v)
                self.v = v
        class Caller:
            def __init__(self):
                self.back = sys._getframe(1).f_code.co_name
        class Tree:
            def __init__(self, n):
                self.child = Tree(n - 1) if n else None
        def make(k):
            total, errors = 0, []
            for i in range(k):
                p = P(i, i + 1)
                total += p.x + p.y
                try:
                    total += Bad(i).v
                except TypeError as e:
                    errors.append(str(e))
                try:
                    total += Raises(i).v
                except ValueError:
                    errors.append(traceback.format_exc().splitlines()[-4:])
                total += len(Caller().back)
                t = Tree(4)
                while t:
                    total += 1
                    t = t.child
            return total, errors
        for i in range(5):
            print(make(30))
        def init(self, x, y):
            self.x, self.y = -x, 0
        P.__init__ = init
        print(make(30))
        try:
            Tree(100000)
        except RecursionError:
            print("RecursionError")
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 1000
    else:
        r.assert_compiled("make")
        assert "_CALL_ALLOC_AND_ENTER_INIT" in r.uops("make")


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_generic_class_calls_enter_init(jit, chaos):
    # An unspecialized CALL of a class (code compiled at its first call, as a
    # function with a loop called once is) enters a compiled __init__
    # directly too, returning through the code's _INIT_RETURN: results,
    # errors, finalizers, frames, a class given a new __init__ meanwhile,
    # and calls without arguments at the top of the caller's stack behave as
    # in the interpreter. With JITSAW_CHAOS, compiled code also deopts at
    # random points, inside such an __init__ too.
    r = jit(
        """
        import sys, traceback
        class A:
            def __init__(self, v):
                self.v = v
        class B:
            def __init__(self, v):
                self.v = v * 2
                self.back = sys._getframe(1).f_code.co_name
        class Bad:
            def __init__(self, v):
                self.v = v
                if v % 7 == 6:
                    return v
        class Raises:
            def __init__(self, v):
                if v % 5 == 4:
                    raise ValueError(v)
                self.v = v
            def __del__(self):
                print("del", self.__dict__.get("v"))
        class Empty:
            def __init__(self):
                self.v = 1
        def init(self, v):
            self.v = -v
        def once(k):
            out = []
            for i in range(k):
                if i == k // 2:
                    A.__init__ = init
                for cls in (A, B, Bad, Raises):
                    try:
                        o = cls(i)
                        out.append((type(o).__name__, o.v))
                    except (TypeError, ValueError):
                        out.append(traceback.format_exc().splitlines()[-4:])
                out.append(Empty().v + A(Empty().v).v + B(i).v)
                e = Empty()
                out.append(e.v)
            return out
        for line in once(40):
            print(line)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100
    else:
        # Compiled once, from bytecode not yet specialized (so its class
        # calls are generic `_CALL`s, not `_CALL_ALLOC_AND_ENTER_INIT`), and
        # freed after that call.
        assert r.state("once")["status"] == "provisional"
        assert r.stats["provisional_code_bytes_freed"] > 0
        r.assert_compiled("B.__init__", "Raises.__init__")
        assert r.stats["frames_entered"] > 100


def test_closures_and_cells(jit):
    r = jit(
        """
        def outer(n):
            total = 0
            def inner(x):
                nonlocal total
                total += x
                return total
            for i in range(n):
                inner(i)
            return total, inner.__closure__[0].cell_contents
        for i in range(4):
            print(outer(10))
        """
    )
    r.assert_compiled("outer")


def test_returns(jit):
    r = jit(
        """
        def none():
            pass
        def const():
            return 42
        def value(x):
            return [x]
        for i in range(4):
            print(none(), const(), value(i))
        """
    )
    r.assert_compiled("none", "const", "value")
    assert "_POP_FRAME" in r.uops("const")


def test_int_arithmetic_at_digit_boundaries(jit):
    r = jit(
        """
        import sys
        edges = [0, 1, -1, 5, -5, -6, 255, 256, 257, 2**30 - 1, 2**30, -2**30, 2**31, 2**59,
                 2**60 - 1, 2**60, -2**60, 2**62, 2**63 - 1, -2**63, 2**64, 10**30, -(10**30)]
        def add(a, b):
            return a + b
        def sub(a, b):
            return a - b
        def mul(a, b):
            return a * b
        def steps(n):
            out = []
            for i in range(n, n + 3):
                out.append(i)
            return out
        for f in (add, sub, mul):
            for i in range(3):
                results = [f(a, b) for a in edges for b in edges]
            print(f.__name__, results)
        # Small results are CPython's cached singletons.
        print(add(100, 28) is 128, sub(5, 10) is -5, mul(16, 16) is 256, add(200, 57) is 257)
        print([type(add(a, 1)) for a in (True, 2**60)], add(True, True))
        for i in range(3):
            print(steps(2**62), steps(-2**63), steps(2**30 - 1))
        print(sys.getsizeof(add(2**30, 2**30)), sys.getsizeof(add(1, 2)))
        """
    )
    r.assert_compiled("add", "sub", "mul", "steps")
    assert "_BINARY_OP_ADD_INT_LOCALS" in r.uops("add")  # of two locals, read in place


def test_int_results_reuse_dying_temporaries(jit):
    # A temporary int that dies in an operation may hold its result (when it
    # has room for the digits): only the value and size of each result are
    # visible, never the object reused, and no int someone else holds
    # (locals, list items, dict values, globals, defaults) changes.
    r = jit(
        """
        import sys
        held = [10**6, -(10**6), 2**40, -(2**40), 2**59, 2**61]
        table = {"k": 10**7}
        BIG = 3 * 10**8
        def temps(a, b, c):
            return ((a + b) * c - a) // 3 + (a ^ b) % 1000003 - (c << 2) + (a | 7) - (b & 12345)
        def grow(a, b):
            # results needing more digits than the dying temporary has
            return (a + b) + b, (a * 3 - b) * 2**20, ((a << 1) + 1) << 29
        def shrink(a):
            # results that are small ints again: CPython's singletons
            t = (a * 1000 + 7) - a * 1000
            return t, t is 7, ((a + 10**6) - 10**6 - a) is 0, ((a - 10**6) + 10**6 - a + 256) is 256
        def make(i):
            return i * 100003
        def fresh(i):
            # results of calls die here (one reference each)
            return make(i) + make(i + 1), -(make(i)) - make(2), make(i) * 3 + 1
        def others(i, d=10**6 + 1):
            x = held[i % len(held)]
            y = x + 1
            z = (held[i % len(held)] + 1) * 2
            w = table["k"] + i
            g = BIG + i
            return x, y, z, w, g, d + i, (d + i) + 1
        def sizes(a):
            return [sys.getsizeof(v) for v in ((a + 2**29) * 2, (a + 2**30) + 2**30, (a + 2**59) + 2**59, -(a + 3) * 5)]
        edges = [0, 1, -1, 7, 255, 256, 257, 10**6, -(10**6), 2**30 - 1, 2**30, 2**31, 2**59, -(2**59), 2**61]
        for rnd in range(3):
            out = [temps(a, b, c) for a in edges for b in edges[:6] for c in (3, -2, 2**20)]
            out2 = [grow(a, b) for a in edges for b in (1, 2**29, 2**30, 2**58)]
            out3 = [shrink(a) for a in edges]
            out4 = [fresh(i) for i in range(-4, 300, 7)]
            out5 = [others(i) for i in range(12)]
            out6 = [sizes(a) for a in (0, 5, 2**20)]
        print(out, out2, out3, out4, out5, out6)
        print(held, table, BIG, others.__defaults__)
        """
    )
    r.assert_compiled("temps", "grow", "shrink", "fresh", "others", "sizes")


def test_int_expressions_computed_in_machine_words(jit):
    # An expression of int locals and constants whose operators the
    # interpreter saw ints at is computed in machine words and only its
    # result boxed (`optimize::raw`; a float result stored to a local goes
    # into the local's float when the local alone holds it; `**` of a
    # float where `float_pow` would call the platform's `pow`). Anything
    # else (a float, a bool, an int subclass, a big int, an overflow, a
    # zero divisor, an unbound local) runs the expression's own code, which raises where it raises, and
    # code where that keeps happening is compiled again without the words.
    # A jump into the middle of an expression (a conditional operand) runs
    # the rest of it as compiled before.
    r = jit(
        """
        import traceback
        from jitsaw import _jitsaw
        def eval_a(i, j):
            return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
        def mixed(a, b):
            return (a * b - 7) % 10 + (a - b) * 3 // 4
        def cond(a, b, c):
            return (b if c else a) * 2 + 1 - a * 3
        def late(n):
            if n > 2:
                k = n
            return (k + 1) * (k - 1) // 2
        class I(int):
            def __mul__(self, o):
                return 1000
        warm = []
        for i in range(3):
            warm += [eval_a(i, i + 1), mixed(i, i + 2), cond(i, i, i % 2), late(i + 3)]
        def norm(x, y, z):
            return x * x + y * y - z * 0.5
        def ratio(x, n):
            return (n * 2 + 1) / 4 * x * x
        def mag(dt, x, y):
            # `dt` comes with `x` in one `LOAD_FAST_LOAD_FAST`
            return dt * (x * x + y * y) ** -1.5
        def stored(dt, x, y):
            # Results stored to a local: into its float when it alone
            # holds one (not `held`'s), `**` by an int and a float.
            m = dt * (x * x + y * y) ** 2
            held = m if dt > 1 else None
            m = (x - y) ** 0.5 * dt + 1.0
            return m, held
        for i in range(3):
            warm += [norm(1.5, 2.5, -0.5), ratio(0.25, i), mag(0.01, 1.5, i + 0.5), stored(0.5, 2.5, i + 0.5)]
        _record("words", {f.__name__: [u for u in _jitsaw.code_state(f)["uops"] if u.startswith("_RAW_BOX")]
                          for f in (eval_a, mixed, cond, late, norm, ratio, mag, stored)})
        out = []
        edge = [0, 1, -1, -7, 12, 2**30 - 1, 2**30, -(2**30), 2**31 + 5, 2**62, -(2**63), 10**20,
                2.5, True, I(6)]
        for rnd in range(2):
            for a in edge:
                for b in edge:
                    for f in (mixed, cond):
                        try:
                            out.append(f(a, b) if f is mixed else f(a, b, rnd))
                        except Exception as e:
                            out.append(repr(e))
            for i in range(200):
                out.append(eval_a(i, 3 * i))
            for n in (5, 4, 1, 6):
                try:
                    out.append(late(n))
                except UnboundLocalError as e:
                    out.append(traceback.format_exc().splitlines()[-3:])
            for b in (4, 0, -4):
                try:
                    out.append(mixed(3, b) + mixed(b, 0))
                except ZeroDivisionError:
                    out.append(traceback.format_exc().splitlines()[-3:])
            fl = [0.0, -0.0, 1e308, -2.5, float("inf"), float("nan"), 3, 2**60, True, None]
            for x in fl:
                for y in fl:
                    for f in (norm, ratio, mag, stored):
                        try:
                            out.append(f(x, y) if f is ratio else f(x, y, x))
                        except Exception as e:
                            out.append(repr(e))
        print(warm, out)
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    assert r.recorded["words"] == {
        "eval_a": ["_RAW_BOX_FLOAT"], "mixed": ["_RAW_BOX_INT"], "cond": ["_RAW_BOX_INT"],
        "late": ["_RAW_BOX_INT"], "norm": ["_RAW_BOX_FLOAT"], "ratio": ["_RAW_BOX_FLOAT"],
        "mag": ["_RAW_BOX_FLOAT"], "stored": ["_RAW_BOX_FLOAT_INTO_FAST", "_RAW_BOX_FLOAT_INTO_FAST"]}
    assert r.stats["exits"].get("words:LOAD_FAST_LOAD_FAST", 0) > 0, r.stats["exits"]


def test_instance_attributes_read_into_machine_words(jit):
    # `self.x * other.x + ...`: an instance attribute of a local's object
    # (its fused load, or a repeated one of a local checked earlier in the
    # expression) is read into a word with the load's checks. Anything else
    # (a subclass with a property, a class changed after compiling, a
    # deleted attribute, a materialized `__dict__`, a big int, None) runs
    # the expression's own code.
    r = jit(
        """
        from jitsaw import _jitsaw
        class V:
            def __init__(self, x, y, z):
                self.x = x; self.y = y; self.z = z
            def dot(self, other):
                return (self.x * other.x) + (self.y * other.y) + (self.z * other.z)
            def cross_z(self, other):
                return self.x * other.y - self.y * other.x
            def grow(self, k):
                self.x = self.x * k + 1.0
                return self.x
        class N:
            def __init__(self, a, b):
                self.a = a; self.b = b
            def mix(self, k):
                return (self.a * 3 + self.b) * k - 7
        class W(V):
            def __init__(self, x, y, z):
                self.x = x; self.z = z
            @property
            def y(self):
                return 100.0
        out = []
        for k in range(6):
            a, b = V(1.5, 2.5, 3.5), V(0.5, -1.0, 2.0)
            out += [a.dot(b), a.cross_z(b), a.grow(0.5), N(k, 2).mix(3)]
        _record("attrs", sorted({u for f in (V.dot, V.cross_z, V.grow, N.mix)
                                 for u in _jitsaw.code_state(f)["uops"] if u.startswith("_RAW_LOAD_ATTR")}))
        pairs = [(V(1, 2, 3), V(1.5, 2, 3)), (V(2**62, 2, 3), V(2.0, 1.0, 1.0)), (V(1.0, 2.0, 3.0), W(1.0, 2.0, 3.0)),
                 (V(None, 1.0, 1.0), V(1.0, 1.0, 1.0)), (V(float("nan"), 1e308, 1e308), V(1.0, 1e308, 1e308))]
        for a, b in pairs:
            try:
                out.append((a.dot(b), b.dot(a), a.cross_z(b)))
            except Exception as e:
                out.append(repr(e))
        v = V(1.0, 2.0, 3.0)
        del v.y
        w = V(1.0, 2.0, 3.0)
        w.__dict__["q"] = 1
        for o in (v, w):
            try:
                out.append((o.dot(o), o.cross_z(V(1.0, 1.0, 1.0))))
            except Exception as e:
                out.append(repr(e))
        for n in (N(2**40, 1), N(2.5, 1), N(True, 2), N(None, 1)):
            try:
                out.append(n.mix(2))
            except Exception as e:
                out.append(repr(e))
        # A property put on the class after compiling hides the instances'
        # `y` from then on.
        a = V(1.0, 2.0, 3.0)
        V.y = property(lambda self: -1.0)
        out.append((a.dot(a), a.cross_z(b), a.grow(2.0)))
        print(out)
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    assert r.recorded["attrs"] == ["_RAW_LOAD_ATTR", "_RAW_LOAD_ATTR_FLOAT"], r.recorded["attrs"]


def test_division_operands_of_either_kind_read_as_doubles(jit):
    # `/` (and `**` for its exponent), which CPython never specializes,
    # takes a local or attribute operand of either kind in words: an exact
    # float, or an exact int a double holds exactly, converted as float and
    # int division convert it. Anything else (a bigger int, a bool, an int
    # or float subclass, a Fraction, None, a zero divisor, a power that
    # overflows or underflows) runs the expression's own code.
    r = jit(
        """
        from fractions import Fraction
        from jitsaw import _jitsaw
        def scale(p, q, k):
            return (p - q) / k * 2.0
        def ints(i, j, k):
            return (i + j) / k, i - j
        def power(x, n):
            return 2.5 ** n * x - x
        class Box:
            def __init__(self, w):
                self.width = w
                self.minx = 0.5
            def where(self, x):
                return (x - self.minx) / self.width * 10.0
        class I(int):
            def __rtruediv__(self, o):
                return "I.__rtruediv__"
        class F(float):
            def __rtruediv__(self, o):
                return "F.__rtruediv__"
        warm = []
        for i in range(4):
            warm += [scale(3.5, 1.25, 2.0), ints(i, 2, 3), power(1.5, 0.5), Box(4.0).where(2.25)]
        _record("reads", sorted({u for f in (scale, ints, power, Box.where)
                                 for u in _jitsaw.code_state(f)["uops"] if u.endswith("_REAL")}))
        # First the ints a double holds only approximately (int division
        # must not round them), while the words are still compiled.
        edge = [2**53 + 1, -(2**53) - 3, 2**59 + 7, 2, 2.0, 3, -7, 0, 0.0, -0.0, 2**53 - 1, 2**53, -(2**53), 2**62, 10**20,
                True, False, None, Fraction(1, 3), float("inf"), float("-inf"), float("nan"),
                1e-310, 1e308, I(5), F(2.0), -2000, 2000, 1075, -1075]
        out = []
        for rnd in range(2):
            for k in edge:
                for f, args in ((scale, (3.5, 1.25, k)), (ints, (7, 5, k)), (power, (1.5, k)),
                                (Box(k).where, (2.25,))):
                    try:
                        out.append(f(*args))
                    except Exception as e:
                        out.append(repr(e))
            for i in range(-3, 200):
                out.append((ints(i, i + 1, i * 3 + 10), scale(i * 0.5, 1.0, i + 5)))
        print(warm, out)
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    assert r.recorded["reads"] == ["_RAW_LOAD_ATTR_REAL", "_RAW_LOAD_FAST_REAL"], r.recorded["reads"]
    assert r.returncode == 0 and r.stdout.startswith("["), r.stderr


def test_float_list_items_updated_in_machine_words(jit):
    # `v[i] op= <expression>` of a float item of a list in a local, where
    # the interpreter saw floats, computes the expression in words and
    # writes the new value into the item's float when the list alone holds
    # it (`optimize::raw`'s item updates). A float also held elsewhere
    # keeps its value (a new float takes its place); anything else (an int
    # item or operand, a negative or out-of-range index, a list subclass
    # with its own `__getitem__`, a tuple, None) runs the statement's own
    # code, which raises where it raises.
    r = jit(
        """
        import traceback
        from jitsaw import _jitsaw
        def advance(pairs, bodies, dt, n):
            for _ in range(n):
                for (v1, m1), (v2, m2) in pairs:
                    d = m1 - m2
                    v1[0] -= d * dt
                    v2[0] += d * m1 * dt
                for v, m in bodies:
                    v[1] *= 0.5
                    v[2] += m
            return [v for v, m in bodies]
        def bump(v, i, x):
            v[i] += 2.0 * x - 1.0
            v[i] -= x
            return v
        class L(list):
            def __getitem__(self, i):
                return 100.0
        def run(v, w):
            bodies = [(v, 0.5), (w, 1.5)]
            return advance([((v, 0.5), (w, 1.5))], bodies, 0.01, 50)
        out = []
        for k in range(6):
            out.append(run([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]))
            out.append(bump([0.5, 1.5, 2.5], k % 3, 0.25 * k))
        _record("updates", [u for u in _jitsaw.code_state(advance)["uops"] if u == "_RAW_UPDATE_LIST_ITEM_FLOAT"]
                + [u for u in _jitsaw.code_state(bump)["uops"] if u == "_RAW_UPDATE_LIST_ITEM_FLOAT"])
        # Floats held elsewhere keep their values.
        v = [1.0, 2.0, 3.0]
        held = v[0], v[1], v[2]
        out.append((run(v, [4.0, 5.0, 6.0]), held, v[0] is not held[0]))
        w = [1.0, 2.0, 3.0]
        x = w[1]
        out.append((bump(w, 1, 0.5), x, w[1] is x))
        for args in [([1, 2, 3], 1, 0.5), ([1.0, 2.0], 1, 3), ([1.0, 2.0], -1, 0.5), ([1.0, 2.0], 5, 0.5),
                     (L([1.0, 2.0]), 0, 0.5), ((1.0, 2.0), 0, 0.5), (None, 0, 0.5), ([1.0, 2.0], 2**70, 0.5),
                     ([1.0, float("inf")], 1, float("inf")), ([1.0, float("nan")], 1, -0.0), ([1.0], True, 0.5),
                     ([1.0, 2.0], 1, 2**60)]:
            try:
                out.append(bump(*args))
            except Exception:
                out.append(traceback.format_exc().splitlines()[-3:])
        try:
            out.append(run([1.0, 2.0], [4.0, 5.0, 6.0]))
        except Exception:
            out.append(traceback.format_exc().splitlines()[-3:])
        out.append(run([1, 2, 3], [4.0, 5, 6.0]))
        print(out)
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    assert len(r.recorded["updates"]) == 6, r.recorded["updates"]


def test_stores_over_int_and_float_locals(jit):
    # A store over a local known to hold an int or a float frees the old
    # value inline; where Python code ran since (a frame object may have
    # stored anything through `f_locals`), the store frees whatever is there.
    r = jit(
        """
        import sys
        def counters(n):
            i, f, held = 1000, 0.5, []
            for k in range(n):
                i = i + 1000
                f = f * 1.5 + 0.25
                if k % 3 == 0:
                    held.append(i)
                    held.append(f)
            return i, f, held[-4:], len(held)
        class Noisy:
            def __init__(self, k):
                self.k = k
            def __del__(self):
                print("freed", self.k)
        def put(name, value):
            sys._getframe(1).f_locals[name] = value
        def rebound(n):
            out = []
            for k in range(n):
                x = 10**6 + 1
                put("x", Noisy(k))
                x = 5
                out.append(x)
                y = 2.5
                put("y", [Noisy(-k)])
                y = 0.5
            return out[-2:]
        def unbound(n):
            out = []
            for k in range(n):
                if k % 3 == 0:
                    y = k * 1000
                elif k % 3 == 1:
                    y = k + 0.5
                else:
                    del y
                    y = 10**20 + k
                out.append(y)
            return out[-3:]
        def gen(n):
            t = 0
            for k in range(n):
                t = t + k * 1000
                yield t
        for i in range(6):
            print(counters(50), rebound(20), unbound(20), sum(gen(40)))
        """
    )
    r.assert_compiled("counters", "rebound", "unbound", "gen")
    assert "_STORE_FAST_INT" in r.uops("counters")
    assert "_STORE_FAST_FLOAT" in r.uops("counters")


def test_power_fast_paths_and_every_special_case(jit):
    # `**` computes a positive finite float base to a finite exponent with
    # libm's pow when the result is a normal number, and small ints exactly;
    # everything else (signs, zeros, infinities, NaNs, overflow, underflow,
    # complex results, negative int exponents) is CPython's.
    r = jit(
        """
        bases = [2.0, 0.5, 1.0, 0.0, -0.0, -2.0, 10.0, 1e-300, 1e300, float("inf"),
                 float("-inf"), float("nan"), 3, -3, 0, 1, 2**40, True]
        exps = [2, 3, -1, -2, 0, 0.5, -1.5, 2.0, 1e10, -1e10, 1075.0, -1075.0, 1100, 63, 64,
                float("inf"), float("nan"), -0.0, 2**53 + 1, True]
        def power(a, b):
            if type(a) is int and type(b) is int and b > 2000:
                return None  # a huge int, slowly
            try:
                r = a ** b
                return type(r).__name__, repr(r)
            except Exception as e:
                return type(e).__name__, str(e)
        def inplace(a, b):
            if type(a) is int and type(b) is int and b > 2000:
                return None
            try:
                a **= b
                return repr(a)
            except Exception as e:
                return type(e).__name__
        def dying(x):
            return (x * 1.5) ** 2, (x + 1.0) ** -0.5, x ** 3
        for i in range(3):
            results = [(power(a, b), inplace(a, b)) for a in bases for b in exps]
            kept = [dying(x) for x in (0.25, 2.0, 7.0)]
        print(results)
        print(kept)
        """
    )
    r.assert_compiled("power", "inplace", "dying")
    assert "_BINARY_OP_ADAPTIVE_POWER" in r.uops("power")


def test_unspecialized_int_operators_at_digit_boundaries(jit):
    # CPython 3.13 never specializes these; compiled code computes two ints
    # of up to two digits in a word and leaves the rest (big ints, bools,
    # floats, negative shift counts, zero divisors) to the generic path.
    r = jit(
        """
        edges = [0, 1, -1, 3, -3, 7, -8, 255, 256, 2**30 - 1, 2**30, -2**30, 2**31 + 5, 2**59,
                 2**60 - 1, -(2**60 - 1), 2**60, -2**60, 2**62, -2**63, 10**30, True, False,
                 2.5, -0.0]
        counts = [0, 1, 2, 29, 30, 31, 32, 58, 59, 60, 61, 62, 63, 64, 100, -1, True]
        def ops(a, b):
            out = []
            for f in (lambda: a & b, lambda: a | b, lambda: a ^ b, lambda: a // b,
                      lambda: a % b):
                try:
                    r = f()
                    out.append((type(r).__name__, r))
                except Exception as e:
                    out.append(type(e).__name__)
            return out
        def shifts(a, n):
            out = []
            try:
                out.append(a << n)
            except Exception as e:
                out.append(type(e).__name__)
            try:
                out.append(a >> n)
            except Exception as e:
                out.append(type(e).__name__)
            x = a
            try:
                x <<= n
                x >>= 1
                x ^= a
                x &= -1
                x |= 1
                x //= 3
                x %= 1000003
            except Exception as e:
                x = type(e).__name__
            out.append(x)
            return out
        class Neg(int):
            def __neg__(self):
                return "neg"
        def unary(a):
            x = a * 1.0 if type(a) is int else a
            try:
                inv = ~a
            except TypeError as e:
                inv = str(e)
            y = -x      # a float: negated in place when it dies here
            try:
                twice = -(-a)
            except TypeError as e:  # Neg's "neg"
                twice = str(e)
            return -a, inv, y, -(x + 1.0), x, twice
        for i in range(3):
            results = [ops(a, b) for a in edges for b in edges]
            moved = [shifts(a, n) for a in edges if type(a) is not float for n in counts]
            negated = [unary(a) for a in edges + [Neg(3), 1.5e308, float("inf"), float("nan")]]
        print(results)
        print(moved)
        print(negated, -0.0, -(0), [id(-x) == id(-x) for x in (5, 300)])
        print(ops(2**40 + 7, 3) , 100 & 0xF0 is 96, (-7) // 2, (-7) % 2, 7 % -2, 7 // -2)
        """
    )
    r.assert_compiled("ops", "shifts", "unary")
    assert "_UNARY_NEGATIVE" in r.uops("unary")
    uops = r.uops("shifts")
    for op in ("LSHIFT", "RSHIFT", "XOR", "AND", "OR", "FLOOR_DIVIDE", "REMAINDER"):
        assert f"_BINARY_OP_ADAPTIVE_{op}" in uops


def test_int_and_float_allocation_under_tracemalloc(jit):
    r = jit(
        """
        import tracemalloc
        def work(n):
            t, x = 0, 0.5
            for i in range(n):
                t = t + i * 1000003
                x = x * 1.0001 + 0.5
            return t, x
        for i in range(4):
            print(work(1000))
        tracemalloc.start()
        print(work(1000))
        tracemalloc.stop()
        print(work(1000))
        """
    )
    r.assert_compiled("work")


def test_tracemalloc_sees_a_number_at_the_line_that_made_it(jit):
    # Compiled code points its frame at an instruction only where it calls
    # out; an int or float operator allocating its result under tracemalloc
    # (out of line: past jitsaw's int freelist, or with CPython's float
    # freelist empty) points it first, so the snapshot names the
    # operator's line, not the list's before it.
    r = jit(
        """
        import tracemalloc
        def ints(a):
            x = [a]
            v = a * 1000003 + 7
            return x, v
        def floats(a):
            x = [a]
            v = a * 1.5 + 0.25
            return x, v
        for make, kind in ((ints, int), (floats, float)):
            keep = [make(kind(i)) for i in range(20)]
            tracemalloc.start()
            keep = [make(kind(i)) for i in range(2000)]
            snap = tracemalloc.take_snapshot()
            tracemalloc.stop()
            # The list's line and the number's (the tuple's count varies
            # with CPython's tuple freelist).
            lines = (make.__code__.co_firstlineno + 1, make.__code__.co_firstlineno + 2)
            mine = snap.filter_traces([tracemalloc.Filter(True, __file__)])
            for s in sorted(mine.statistics("lineno"), key=lambda s: s.traceback[0].lineno):
                if s.traceback[0].lineno in lines:
                    print(make.__name__, s.traceback[0].lineno - lines[0], s.count)
        """
    )
    r.assert_compiled("ints")
    r.assert_compiled("floats")


def test_subscripts_of_borrowed_locals_keep_every_refcount(jit):
    # `seq[i]` (and `seq[i] = v`) of a local list or tuple by a local index
    # takes both without new references, `seq[i][j]` its index only
    # (`optimize::borrow`); each way out of the fast path (an index out of
    # range or negative, another container type, a bool or big index) gives
    # them references first.
    r = jit(
        """
        import sys
        def items(seq, n):
            t = 0
            for i in range(n):
                t = t + seq[i]
            return t, sys.getrefcount(seq), sys.getrefcount(i)
        def titems(seq, n):
            t = 0
            for i in range(n):
                t = t + seq[i]
            return t, sys.getrefcount(seq), sys.getrefcount(i)
        def nested(rows, n):
            t = 0
            for i in range(n):
                for j in range(n):
                    t = t + rows[i][j]
            return t, sys.getrefcount(rows), sys.getrefcount(rows[0])
        def probe(seq, idx):
            out = []
            for i in idx:
                try:
                    out.append(seq[i])
                except (IndexError, TypeError, KeyError) as e:
                    out.append(type(e).__name__)
            return out, sys.getrefcount(seq)
        class Noisy:
            def __del__(self):
                print("old item freed")
        def fill(seq, idx, v):
            for i in idx:
                try:
                    seq[i] = v
                except (IndexError, TypeError) as e:
                    print(type(e).__name__)
            return sys.getrefcount(seq), sys.getrefcount(v)
        def tprobe(seq, idx):
            out = []
            for i in idx:
                try:
                    out.append(seq[i])
                except IndexError as e:
                    out.append(type(e).__name__)
            return out, sys.getrefcount(seq), sys.getrefcount(i)
        data = list(range(100))
        tup = tuple(x * 0.5 for x in range(100))
        rows = [[i * j for j in range(20)] for i in range(20)]
        # Recompiled once the bytecode is specialized.
        for k in range(40):
            out = items(data, 100), titems(tup, 100), nested(rows, 20)
            probe(data, [1, 2, 3])
            tprobe(tup, [1, 2, 3])
            fill(data, [5, 6], k)
        print(out)
        print(probe(data, [1, 2, 500, -1, True, 2**70, 3]))
        print(tprobe(tup, [1, 200, -2, 4]), tprobe(data, [1, 2]))
        print(probe({1: "a", 2: "b"}, [1, 2, 3]))
        print(fill(data, [7, 500, -1, True, 2**70, 8], 2.5), data[5:9])
        d = {}
        print(fill(d, [1, 2], "x"), d)
        noisy = [Noisy(), Noisy()]
        print(fill(noisy, [0, 1], 0), noisy)
        print(items([1.5] * 10, 10), sys.getrefcount(data), sys.getrefcount(tup))
        """
    )
    expected = {
        "items": "LIST_INT_BORROWED",
        "probe": "LIST_INT_BORROWED",
        "titems": "TUPLE_INT_BORROWED",
        "tprobe": "TUPLE_INT_BORROWED",
        "nested": "LIST_INT_BORROWED_RIGHT",
    }
    assert "_STORE_SUBSCR_LIST_INT_BORROWED" in r.uops("fill")
    r.assert_compiled(*expected)
    for name, form in expected.items():
        assert "_BINARY_SUBSCR_" + form in r.uops(name), name


def test_augmented_assignments_borrow_their_copies_and_keep_every_refcount(jit):
    # `seq[i] += x` copies the list and the index (`COPY 2; COPY 2`) and
    # `o.n += 1` the owner (`COPY 1`) for the load; the load takes the
    # copies without new references while the originals below them keep the
    # values alive (`optimize::borrow`). Every way out of the fast paths (an
    # index out of range, another container or class, an attribute gone,
    # an item whose `__add__` frees the old item) gives them references first.
    r = jit(
        """
        import sys
        class P:
            def __init__(self):
                self.n = 0
                self.f = 0.5
        class Q(P):
            pass
        class Noisy:
            def __init__(self, v):
                self.v = v
            def __add__(self, k):
                return Noisy(self.v + k)
            def __del__(self):
                print("freed", self.v)
        def bump(seq, i, o, n):
            for k in range(n):
                seq[i] += 1
                seq[i + 1] -= 0.5 * k
                o.n += 1
                o.f *= 1.0
            return sys.getrefcount(seq), sys.getrefcount(o), sys.getrefcount(i)
        def probe(seq, i, o):
            try:
                seq[i] += 1
            except (IndexError, TypeError, KeyError) as e:
                print(type(e).__name__)
            try:
                o.n += 1
            except AttributeError:
                print("AttributeError")
            return sys.getrefcount(seq), sys.getrefcount(o)
        data = [0, 0.0, 7, 0.0]
        p = P()
        for k in range(40):
            out = bump(data, 0, p, 50)
            probe(data, 2, p)
        print(out, data, p.n, p.f)
        print(probe(data, 500, p), probe(data, -1, p), probe(data, True, p))
        print(probe((1, 2), 0, Q()), probe({2: 1}, 2, p), probe({}, 2, p))
        gone = P()
        del gone.n
        print(probe(data, 2, gone), probe([Noisy(1)], 0, Q()))
        big = 2**70
        print(bump([big, 0.0, 1], 0, Q(), 3), bump([Noisy(5), 0.0], 0, p, 2))
        print(sys.getrefcount(data), sys.getrefcount(p), data, p.n)
        """
    )
    r.assert_compiled("bump", "probe")
    for name in ("bump", "probe"):
        assert "_COPY_BORROW" in r.uops(name), name
    assert "_BINARY_SUBSCR_LIST_INT_BORROWED" in r.uops("bump")


def test_truth_tests_of_borrowed_locals_keep_every_refcount(jit):
    # `if x:` and `x is None` of a local take it without a new reference
    # (`optimize::borrow`); a truth test specialized for one type that
    # meets another gives it a reference before it leaves.
    r = jit(
        """
        import sys
        class Node:
            def __init__(self, nxt):
                self.nxt = nxt
        def walk(node):
            n = 0
            while node is not None:
                n += 1
                node = node.nxt
            return n
        def truthy(values):
            c = 0
            for v in values:
                if v:
                    c += 1
            return c, sys.getrefcount(v)
        # One function per type, each specialized for its own.
        TEST = (
            "def {}(x, n):\\n"
            "    c = 0\\n"
            "    for i in range(n):\\n"
            "        if x:\\n"
            "            c += 1\\n"
            "    return c, sys.getrefcount(x)\\n"
        )
        for name in ("ints", "seqs", "strs", "objs"):
            exec(TEST.format(name))
        chain = None
        for i in range(50):
            chain = Node(chain)
        big = 10**30
        lst, s, node = [1], "abc", Node(None)
        # Recompiled once the bytecode is specialized.
        for k in range(40):
            out = walk(chain), ints(big, 30), seqs(lst, 30), strs(s, 30), objs(node, 30)
        print(out, truthy([1, 0, 2]), truthy([[], [1]]), truthy(["", "x"]))
        # The same sites, other types: the specialized tests leave.
        print(ints([1], 5), ints(0, 5), seqs([], 5), seqs("", 5), strs("", 5), strs(3, 5), objs(big, 5))
        print(truthy([1, [], "x", None, node, 0.0]), sys.getrefcount(big), sys.getrefcount(lst))
        """
    )
    r.assert_compiled("walk", "ints", "seqs", "strs", "objs")
    assert "_IS_NONE_BORROWED" in r.uops("walk")
    assert "_TO_BOOL_INT_BORROWED" in r.uops("ints")
    assert "_TO_BOOL_LIST_BORROWED" in r.uops("seqs")
    assert "_TO_BOOL_STR_BORROWED" in r.uops("strs")
    assert "_REPLACE_WITH_TRUE_BORROWED" in r.uops("objs")


def test_guarded_operations_on_borrowed_locals_keep_every_refcount(jit):
    # `a * b` of two locals whose types are only guarded (parameters): the
    # guard and the operation take them without new references
    # (`optimize::borrow`), and a guard that fails gives them references
    # before it leaves.
    r = jit(
        """
        import sys
        def fmul(a, b, n):
            t = 0.0
            for i in range(n):
                t = a * b
            return t, sys.getrefcount(a), sys.getrefcount(b)
        def iadd(a, b, n):
            t = 0
            for i in range(n):
                t = a + b
                if a < b:
                    t = t + 1
            return t, sys.getrefcount(a), sys.getrefcount(b)
        # A computed left input: the right one alone borrowed.
        def fmul_right(a, b, n):
            t = 0.0
            for i in range(n):
                t = (a - 0.5) * b
            return t, sys.getrefcount(a), sys.getrefcount(b)
        def iadd_right(a, b, n):
            t = 0
            for i in range(n):
                t = (a - 1) + b
            return t, sys.getrefcount(a), sys.getrefcount(b)
        x, y = 1.5 * 3, 2.5 * 3
        p, q = 10**5 + 1, 10**5 + 2
        for k in range(40):
            out = fmul(x, y, 20), iadd(p, q, 20), fmul_right(x, y, 20), iadd_right(p, q, 20)
        print(out)
        # Other types at the guarded sites (some of which raise).
        def safe(f, *args):
            try:
                return f(*args)
            except TypeError as e:
                return repr(e)
        print(safe(fmul, p, y, 3), safe(fmul, x, q, 3), safe(fmul, "ab", 3, 3), safe(iadd, x, y, 3),
              safe(iadd, [1], [2], 3), safe(iadd, [1], [2], 0))
        print(safe(fmul_right, x, q, 3), safe(fmul_right, x, "ab", 3), safe(iadd_right, p, y, 3),
              safe(iadd_right, p, [2], 3))
        print(sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(p), sys.getrefcount(q))
        """
    )
    r.assert_compiled("fmul", "iadd", "fmul_right", "iadd_right")
    assert "_GUARD_BOTH_FLOAT_BORROWED_RIGHT" in r.uops("fmul_right")
    assert "_GUARD_BOTH_INT_BORROWED_RIGHT" in r.uops("iadd_right")
    # Two float locals: their loads and guard are one with the operation.
    uops = r.uops("fmul")
    assert "_BINARY_OP_MULTIPLY_FLOAT_INTO_LOCAL" in uops and "_GUARD_BOTH_FLOAT_BORROWED" not in uops
    # The same for ints; `a < b` keeps its borrowed guard.
    uops = r.uops("iadd")
    assert "_GUARD_BOTH_INT_BORROWED" in uops and "_BINARY_OP_ADD_INT_LOCALS" in uops


def test_repeated_class_checks_of_a_local_hold_across_what_runs_between(jit):
    # `self.x * a + self.y * a` checks `self`'s class once
    # (`optimize::classes`). What runs between the loads is float arithmetic,
    # or, when `a` is not a float, the operation's generic form, which may
    # run any code: here `__mul__` methods that give the class a property,
    # change the object's `__class__`, materialize its `__dict__`, rebind
    # the local through `f_locals`, or do nothing. Each later load must see
    # what plain CPython sees.
    r = jit(
        """
        import sys
        class V:
            def __init__(self, x, y, z):
                self.x, self.y, self.z = x, y, z
            def dot(self, o, a):
                return self.x * a + self.y * a + self.z * a + o.x * o.y
        class W(V):
            pass
        class Prop:
            def __rmul__(self, other):
                V.y = property(lambda s: 100.0)
                return 1.0
        class Klass:
            def __rmul__(self, other):
                v = sys._getframe(1).f_locals["self"]
                v.__class__ = W
                W.z = property(lambda s: -5.0)
                return 2.0
        class Dict:
            def __rmul__(self, other):
                v = sys._getframe(1).f_locals["self"]
                v.__dict__["y"] = 7.5
                return 3.0
        class Rebind:
            def __rmul__(self, other):
                sys._getframe(1).f_locals["self"] = V(-1.0, -2.0, -3.0)
                return 4.0
        class Plain:
            def __rmul__(self, other):
                return 5.0
        out = []
        for k in range(60):
            v = V(1.5, 2.5, 3.5)
            out.append(v.dot(v, 2.0))
        for a in [Plain(), Dict(), Rebind(), Prop(), Klass(), 2.0, 3]:
            v = V(1.5, 2.5, 3.5)
            try:
                out.append((v.dot(v, a), type(v).__name__, vars(v)))
            except TypeError as e:
                out.append(str(e))
            if "y" in V.__dict__:
                del V.y
            if "z" in W.__dict__:
                del W.z
        print(out[-8:])
        """
    )
    r.assert_compiled("V.dot")
    # Before any of that: three loads of `self`, two of `o`, two class
    # checks; the fallbacks check again.
    r = jit(
        """
        class V:
            def __init__(self, x, y, z):
                self.x, self.y, self.z = x, y, z
            def dot(self, o, a):
                return self.x * a + self.y * a + self.z * a + o.x * o.y
        v = V(1.5, 2.5, 3.5)
        print([v.dot(v, 2.0) for k in range(60)][-1])
        """
    )
    uops = r.uops("V.dot")
    # (Each class check goes with its local's first load, read in place:
    # `optimize::fuse`.)
    checks = uops.count("_GUARD_TYPE_VERSION_BORROWED")
    assert checks + uops.count("_LOAD_ATTR_INSTANCE_VALUE_LOCAL") == 2, uops
    assert "_CHECK_LOCAL_CLASS" in uops


def test_class_checks_failing_in_fallbacks_are_compiled_away(jit):
    # A site that sees two classes sends the other one through the
    # fallback, whose check of `self`'s class then fails (leaving for the
    # interpreter); after a few such exits the code is compiled again
    # without keeping class checks across fallbacks.
    r = jit(
        """
        class A:
            def __init__(self, x, y):
                self.x, self.y = x, y
            def dot(self, a):
                return self.x * a + self.y * a
        class B(A):
            pass
        a, b = A(1.5, 2.5), B(3.5, 4.5)
        out = [a.dot(2.0) for k in range(60)]
        out += [A.dot(o, 2.0) for k in range(100) for o in (a, b)]
        print(out[-4:], sum(out))
        """
    )
    r.assert_compiled("A.dot")
    assert "_CHECK_LOCAL_CLASS" not in r.uops("A.dot")
    # It left at most eight times of the hundred calls with a `B`.
    assert 1 <= sum(r.exits("deopt:_CHECK_LOCAL_CLASS").values()) <= 8, r.exits("deopt")


def test_loops_kept_in_machine_words(jit):
    # A loop over a range or a `while` loop doing only int and float
    # arithmetic and comparisons on locals and constants keeps its locals
    # in words from its entry to its exits, which
    # box the locals it stored (`optimize::loops`). Every way out must leave
    # the frame as the interpreter would: the range's end, an overflow or a
    # zero divisor in the middle of a turn (the compiled code does the
    # segment over, raising where the interpreter raises), the eval breaker
    # (a signal handler reading the frame), locals that are not what the
    # loop's operators were specialized for on entry (a big int, a bool, a
    # float, an object whose release runs code), a branch the words do not
    # do (a call), `break`, `return` and `continue`.
    r = jit(
        """
        import signal, sys, traceback
        from jitsaw import _jitsaw
        def fib(n):
            a, b = 0, 1
            for _ in range(n):
                a, b = b, a + b
            return a, b, _ if n else None
        def floats(n, x, v):
            for i in range(n):
                v = v - x * 0.01
                x = x + v * 0.01
            return x, v
        def head(n, t):
            for i in range(n): t = t * 2 + i
            return t, i
        def shadowed(n, a):
            y = 0
            for i in range(n):
                x = a * i
                y = x * x - y
            return x, y
        def divide(n, k):
            q = 0
            for i in range(n):
                q = q + 100 // (i - k) + (q % 7 - 3) * 2
            return q
        def ratio(n, x):
            s = 0.0
            for i in range(n):
                s = s + x * 0.5 / 3 + i / 4 + (i * (2**29 + 7) * 2**23) / 3
            return s
        def nested(n):
            total = 0
            for i in range(n):
                for j in range(i):
                    total = total + j * 3 - 1
            return total
        def collatz(n):
            steps = 0
            for i in range(1000):
                if n == 1:
                    break
                if n % 2 == 0:
                    n = n // 2
                else:
                    n = 3 * n + 1
                steps = steps + 1
            return steps, n
        def mandel(cx, cy):
            x = y = 0.0
            for i in range(100):
                if x * x + y * y > 4.0:
                    return i
                x, y = x * x - y * y + cx, 2.0 * x * y + cy
            return -1
        seen = []
        def side(n, t):
            for i in range(n):
                t = t + i
                if i % 7 == 3:
                    seen.append(t)  # the words leave for the compiled code
                    continue
                t = t - 1
            return t
        def count_up(n, step):
            i = t = 0
            while i < n:
                t = t + i * step
                i = i + 1
            return t, i
        def halve(n, x):
            k = 0
            while x > 1e-9:
                x = x * 0.5
                k = k + 1
                if k > n:
                    break
            return k, x
        def squares(n):
            s = 0
            while True:
                n = n - 1
                if n < 0:
                    return s
                s = s + n * n
        class Noisy:
            def __del__(self):
                print("released")
        def store_first(n, y):
            for i in range(n):
                y = i * 2 + 1
            return y
        warm = []
        for k in range(3):
            warm += [fib(10), floats(5, 1.0, 0.5), head(3, 1), shadowed(3, 2), divide(3, 9),
                     ratio(3, 1.5), nested(4), store_first(3, 0), collatz(27), mandel(0.1, 0.2),
                     mandel(2.0, 2.0), side(10, 0), count_up(5, 2), halve(5, 1.0), squares(5)]
        _record("loops", {f.__name__: "_RAW_FOR_ITER_RANGE" in _jitsaw.code_state(f)["uops"]
                          for f in (fib, floats, head, shadowed, divide, ratio, nested, store_first,
                                    collatz, mandel, side)})
        _record("whiles", {f.__name__: "_RAW_CHECK_EVAL_BREAKER" in _jitsaw.code_state(f)["uops"]
                           for f in (count_up, halve, squares)})
        out = []
        for n in (0, 1, 2, 50, 90, 91, 92, 93, 100, 300):
            out.append(fib(n))
        for x in (1.0, -0.0, 1e308, float("inf"), float("nan")):
            out.append(floats(1000, x, 0.5))
        out.append(floats(10, 1, 0.5))  # an int where a float is wanted
        for t in (1, -5, 2**58, 2**61, 10**30, True, 2.5):
            out.append(head(70, t))
        for a in (1, 3, 2**20, 2**29, 2**31, 2**40):
            out.append(shadowed(40, a))
        for k in (100, 20, 5, -3):
            try:
                out.append(divide(30, k))
            except ZeroDivisionError:
                out.append(traceback.format_exc().splitlines()[-3:])
        for x in (1.5, 2, 2**60, 2**53 + 1, True):
            try:
                out.append(ratio(20, x))
            except Exception as e:
                out.append(repr(e))
        out.append([nested(n) for n in range(30)])
        out.append(store_first(5, 7))
        out.append(store_first(5, 1.5))
        out.append(store_first(5, None))
        out.append(store_first(5, Noisy()))
        out.append(store_first(0, "unchanged"))
        out.append([collatz(n) for n in range(1, 40)] + [collatz(2**62 + 1), collatz(2**59 + 7)])
        out.append([mandel(x / 10, y / 10) for x in range(-20, 6, 3) for y in range(-10, 11, 4)])
        out.append([side(50, 0), side(30, 2**62), side(30, 0.5), seen[-5:]])
        out.append([count_up(100, 3), count_up(0, 1), count_up(40, 2**58), count_up(5, 1.5),
                    count_up(3.5, 2), halve(100, 1.0), halve(3, 1.0), halve(100, 1), halve(2, True),
                    squares(100), squares(10**5), squares(0)])
        print(warm, out)

        # The eval breaker: a handler reading the frame between turns sees
        # each local as the interpreter would have stored it.
        seen = []
        def spin(n):
            x = y = 0
            for i in range(n):
                x = x + 1
                y = y + 2
            return x, y
        for k in range(3):
            spin(10)
        def handler(sig, frame):
            f = frame
            while f.f_code is not spin.__code__:
                f = f.f_back
            loc = f.f_locals
            seen.append(loc["y"] in (2 * loc["x"], 2 * loc["x"] - 2) and loc["i"] + 1 >= loc["x"])
            if len(seen) == 3:
                raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
        try:
            spin(10**10)
        except KeyboardInterrupt:
            signal.setitimer(signal.ITIMER_REAL, 0)
            tb = traceback.format_exc().splitlines()
            print("interrupted", all(seen), len(seen), tb[-4:-2])
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    assert r.recorded["loops"] == dict.fromkeys(
        ["fib", "floats", "head", "shadowed", "divide", "ratio", "nested", "store_first", "collatz",
         "mandel", "side"], True)
    assert r.exits("words:FOR_ITER_RANGE"), r.exits("words")
    assert r.recorded["whiles"] == dict.fromkeys(["count_up", "halve", "squares"], True)
    # The one-line loop's first segment starts after its `FOR_ITER`: an
    # overflow pushes the iterator's value boxed for the store after it.
    assert "_RAW_BOX_INT" in r.uops("head")
    assert r.returncode == 0 and "interrupted True 3" in r.stdout, r.stdout[-300:]
