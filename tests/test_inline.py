"""Inlined calls (``optimize::inline``): a method call whose callee computes
its result from its parameters alone runs the callee's code in the caller,
without a frame. Each test runs plain and jitted and compares everything,
and checks that the calls it means were inlined: anything that makes a call
more than its body (a guard failing, an error, tracing, the recursion
limit, a replaced method or ``__code__``) must take the real call."""

import pytest

# The loops below run long enough for the interpreter to specialize the
# method loads whose caches predict the callees; the caller is then
# compiled again with them.
CLASSES = """
import sys
class P:
    def __init__(self, x, y):
        self.x = x
        self.y = y
    def get_x(self):
        return self.x
    def add(self, o):
        return self.x + o.x
    def dot(self, o):
        return self.x * o.x + self.y * o.y
    def above(self, k):
        return self.x > k or (self.y < k and self.x != 3)
    def pick(self, a, b):
        if self.x is None:
            return a
        return b
"""


def inlined(r, name):
    return sum(r.uops(name).count(u) for u in ("_CHECK_CALLEE", "_CHECK_KNOWN_CALLEE"))


# `note(key, f)`: records how many calls `f`'s code has inlined now, for
# states the end of a run no longer shows (a rebinding recompiles).
NOTE = """
import sys
def note(key, f):
    if "jitsaw" in sys.modules and sys.modules["jitsaw"].is_enabled():
        state = sys.modules["jitsaw"]._jitsaw.code_state(f)
        _record(key, sum(state["uops"].count(u) for u in ("_CHECK_CALLEE", "_CHECK_KNOWN_CALLEE")))
"""


def test_pure_methods_are_inlined_and_compute_as_calls_do(jit):
    r = jit(
        CLASSES
        + """
def run(p, q, n):
    total = 0
    for i in range(n):
        total += p.add(q)
        total += p.dot(q)
        if p.above(i):
            total += 1
        total += p.pick(i, n)
    return total
def run_floats(p, q, n):
    total = 0.0
    for i in range(n):
        total += p.add(q)
        total += p.dot(q)
    return total
p, q = P(3, 4), P(5, 7)
for k in range(30):
    r = run(p, q, 200)
print(r)
f1, f2 = P(1.5, 2.5), P(-0.5, 4.0)
for k in range(30):
    r = run_floats(f1, f2, 100)
print(r)
"""
    )
    assert inlined(r, "run") == 4, r.uops("run")
    assert inlined(r, "run_floats") == 2, r.uops("run_floats")
    assert r.stats["calls_inlined"] >= 6
    # The callees' instructions are compiled in their callers too (the
    # compile time per instruction counts them): each has more than two.
    assert r.stats["instructions_inlined"] >= 2 * r.stats["calls_inlined"], r.stats


def test_arithmetic_in_inlined_bodies_is_computed_in_words(jit):
    # Bodies whose arithmetic runs in machine words (`raw::words_in_body`),
    # more operators than bodies box one by one; then every value the
    # words cannot take (ints where floats were seen, big ints, overflows,
    # a zero divisor, infinities and NaN, a property, a subclass with
    # slots) leaves for the real call, its results and errors the
    # interpreter's.
    r = jit(
        """
class V:
    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z
    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z
    def mix(self, k):
        return 0.5 * self.x * k - 2.0 * self.y + k / 4
def eval_a(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
class S(V):
    __slots__ = ("w",)
def run(a, b, n):
    total = 0.0
    for i in range(n):
        total += a.dot(b) + a.mix(1.5) + eval_a(i, n)
    return total
def show(a, b, i, n):
    try:
        return (a.dot(b), a.mix(3), eval_a(i, n))
    except Exception as e:
        import traceback
        return type(e).__name__, str(e), traceback.format_exc().count("line")
def probe(a, b, i, n):
    out = []
    for k in range(3):
        out.append(show(a, b, i, n))
    return out
a, b = V(1.5, -2.0, 0.25), V(3.0, 0.5, -1.0)
for k in range(40):
    r = run(a, b, 50)
    probe(a, b, 3, 4)
print(repr(r))
for x, y in [(3, 4), (2**70, 1.5), (2**62, 4.0), (float("inf"), 0.0), (float("nan"), 1.0), (True, 2.5), (1.5, "s")]:
    a.x, b.x, a.y = x, y, y
    print(probe(a, b, 3, 4))
a.x, b.x, a.y = 1.5, 3.0, -2.0
print(probe(a, b, -1, 0), probe(a, b, 2**40, 2**40), probe(a, b, 2**62, 2**62))
V.z = property(lambda self: 7.5)
print(probe(a, b, 3, 4))
del V.z
s = S(1.0, 2.0, 3.0)
s.w = 1
print(probe(s, b, 3, 4), probe(a, s, 3, 4), repr(run(a, b, 20)))
"""
    )
    assert inlined(r, "run") == 3, r.uops("run")
    boxes = sum(r.uops("run").count(u) for u in ("_RAW_BOX_FLOAT", "_RAW_BOX_ANY"))
    assert boxes >= 3, r.uops("run")


def test_ints_and_floats_mixed_are_computed_in_words_as_cpython_computes_them(jit):
    # `+ - *` CPython left unspecialized (ints and floats mixed), and a
    # callee's float arithmetic given ints, keep each value's kind beside
    # its word: an int with an int is an int (a big result leaves), with a
    # float a float (the int correctly rounded, as `PyLong_AsDouble`
    # converts it); anything else (bools, big ints, strings, lists, None)
    # leaves for the instructions or the real call.
    r = jit(
        NOTE
        + """
class V:
    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z
    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z
def mixed(a, b, c):
    return a * b + c * 3 - a * 0.5
def run(p, q, a, b, c, n):
    t = 0
    for i in range(n):
        t = p.dot(q) + mixed(a, b, c) + (a * i - b * c + 1)
    return t
def show(*args):
    try:
        return repr(run(*args, 2))
    except Exception as e:
        return type(e).__name__ + ": " + str(e)
p, q = V(1, 2.5, 3.0), V(0.5, 2, -1.0)
for k in range(40):
    run(p, q, 3, 1.5, 2, 30)
    run(V(1.5, 2.5, 0.5), V(2, 3, 4.0), 2.5, 3, 1, 30)
print(show(p, q, 3, 1.5, 2))
note("inlined", run)
big = 2**60 - 1
for a, b, c in [(big, 1.0, 1), (big, big, 2), (2**59, 2, 2**59), (2**62, 1, 1), (0, -1.5, 0),
                (float("inf"), 0, 1), (float("nan"), 1, 1), (True, 2.5, 1), ("s", 2, 3),
                ([1], 2, 3), (None, 1, 1), (1.5, 2**53 + 1, 1), (-7, 3, -2**40)]:
    print(a if not isinstance(a, int) or abs(a) < 2**50 else "big", show(p, q, a, b, c))
for x, y in [(big, 1.0), (2**62, 2), (True, 1.0), ("a", "b"), (-0.0, 0), (1, 2)]:
    p.x, q.x = x, y
    print(show(p, q, 3, 1.5, 2))
"""
    )
    assert r.recorded["inlined"] == 2, r.recorded


def test_a_failing_guard_in_an_inlined_body_makes_the_real_call(jit):
    # The attributes change type under the compiled caller: ints, floats,
    # strings, lists, big ints, an object without the attribute; each
    # inlined body leaves for the call, whose result and errors are those
    # of the interpreter, traceback included.
    r = jit(
        CLASSES
        + """
def run(p, q, n):
    out = []
    for i in range(n):
        out.append(p.add(q))
        out.append(p.dot(q))
    return out
p, q = P(3, 4), P(5, 7)
for k in range(30):
    run(p, q, 50)
for a, b in [(1.5, 2), ("a", "b"), ([1], [2]), (2**70, 3), (True, 2), (None, None)]:
    p.x, q.x, p.y, q.y = a, b, a, b
    try:
        print(run(p, q, 3))
    except TypeError as e:
        print("TypeError", e)
del p.x
try:
    run(p, q, 1)
except AttributeError:
    import traceback
    traceback.print_exc()
"""
    )
    assert inlined(r, "run") >= 2, r.uops("run")


def test_a_replaced_method_or_code_is_called_instead(jit):
    r = jit(
        CLASSES
        + """
def run(p, q, n):
    return [p.add(q) for _ in range(0)] or [p.add(q) + p.get_x() for i in range(n)]
def loop(p, q, n):
    s = 0
    for i in range(n):
        s += p.add(q)
    return s
p, q = P(3, 4), P(5, 7)
for k in range(30):
    print(loop(p, q, 100))
def sub(self, o):
    return self.x - o.x
P.add.__code__ = sub.__code__
print(loop(p, q, 100))
P.add = lambda self, o: self.x * o.x
print(loop(p, q, 100))
class Q(P):
    def add(self, o):
        return 1000
print(loop(Q(1, 2), q, 100))
"""
    )
    assert inlined(r, "loop") >= 1, r.uops("loop")


def test_tracing_and_profiling_see_inlined_calls(jit):
    r = jit(
        CLASSES
        + """
def loop(p, q, n):
    s = 0
    for i in range(n):
        s += p.add(q)
        if i == n // 2 and n > 100:
            sys.setprofile(profile)
    return s
events = []
def profile(frame, event, arg):
    if event in ("call", "return") and frame.f_code.co_name == "add":
        events.append((event, frame.f_lineno, arg))
p, q = P(3, 4), P(5, 7)
for k in range(30):
    loop(p, q, 100)
print(loop(p, q, 1000))
sys.setprofile(None)
print(len(events), events[:4])
lines = []
def tracer(frame, event, arg):
    if frame.f_code.co_name == "add":
        lines.append((event, frame.f_lineno))
    return tracer
sys.settrace(tracer)
print(loop(p, q, 5))
sys.settrace(None)
print(lines)
"""
    )
    assert inlined(r, "loop") >= 1, r.uops("loop")


def test_inlined_calls_keep_the_recursion_limit_and_deep_frame_stacks(jit):
    # An inlined call counts no depth of its own, yet takes the real call
    # where that call would raise: RecursionError at the same depth. Deep
    # recursion fills the frame stack's chunks, whose room the inlined
    # body's values need.
    r = jit(
        CLASSES
        + """
depth = [0]
def deep(p, q, n):
    depth[0] = n
    v = p.add(q)
    return deep(p, q, n + v - 8)
def warm(p, q, n):
    s = 0
    for i in range(n):
        s += p.add(q) + p.dot(q)
    return s
p, q = P(3, 4), P(5, 7)
for k in range(30):
    warm(p, q, 100)
for limit in (60, 200, 1000):
    sys.setrecursionlimit(limit)
    for i in range(3):
        try:
            deep(p, q, 0)
        except RecursionError:
            print("RecursionError at", depth[0])
sys.setrecursionlimit(20000)
def chain(p, q, n):
    if n == 0:
        return p.dot(q)
    return chain(p, q, n - 1) + p.add(q)
for i in range(5):
    print(chain(p, q, 5000))
"""
    )
    assert inlined(r, "deep") + inlined(r, "chain") >= 1


def test_calls_in_generators_are_not_inlined_but_still_right(jit):
    r = jit(
        CLASSES
        + """
def gen(p, q, n):
    for i in range(n):
        yield p.add(q)
p, q = P(3, 4), P(5, 7)
for k in range(30):
    print(sum(gen(p, q, 100)))
"""
    )
    assert inlined(r, "gen") == 0


# Methods whose bodies read globals and a class attribute of a global.
DIRECTION = """
class Direction:
    FORWARD = 1
    BACKWARD = -1
LIMIT = 10
SCALE = 2.5
class C:
    def __init__(self, d, v1, v2):
        self.direction = d
        self.v1 = v1
        self.v2 = v2
    def output(self):
        if self.direction == Direction.FORWARD:
            return self.v2
        return self.v1
    def small(self):
        return self.v1 < LIMIT
    def scaled(self):
        return self.v2 * SCALE
"""


def test_bodies_reading_globals_see_them_rebound(jit):
    # A body's global loads read the caller's globals, which the entry
    # checks are the callee's; a rebinding or a new class attribute is seen.
    r = jit(
        NOTE
        + DIRECTION
        + """
def run(c, n):
    out = 0
    for i in range(n):
        out += c.output()
        if c.small():
            out += 1
    return out
c = C(1, 5, 7)
for k in range(30):
    print(run(c, 50))
note("inlined", run)
LIMIT = 2
print(run(c, 50))
Direction.FORWARD = 2
print(run(c, 50))
Direction = None
try:
    run(c, 5)
except AttributeError as e:
    print("AttributeError", e)
"""
    )
    assert r.recorded["inlined"] == 2, r.recorded


def test_globals_burned_into_inlined_bodies_are_seen_changed_mid_loop(jit):
    # A body's known globals and the class attributes read from them are
    # constants in the caller's code: rebinding one while the caller runs
    # (here from the loop itself) sends the call to its fallback at once,
    # and a class attribute's change fails the class's version check. A
    # function of the same code with other globals never takes the body.
    r = jit(
        DIRECTION
        + """
import sys, types
def burned(key, f):
    if "jitsaw" in sys.modules and sys.modules["jitsaw"].is_enabled():
        uops = sys.modules["jitsaw"]._jitsaw.code_state(f)["uops"]
        _record(key, [u in uops for u in ("_CHECK_CONST_TYPE_VERSION", "_LOAD_GLOBAL_MODULE")])
def change():
    global LIMIT, SCALE
    LIMIT = -LIMIT
    SCALE = 0.5
    Direction.FORWARD = 2 if Direction.FORWARD == 1 else 1
def run(c, n, at):
    out = 0
    for i in range(n):
        out += c.output()
        if c.small():
            out += 1
        out += c.scaled()
        if i == at:
            change()
    return out
c = C(1, 5, 7)
for k in range(30):
    print(run(c, 50, -1))
burned("before", run)
print(run(c, 50, 20))
print(run(c, 50, 30))
class D(C):
    small = types.FunctionType(C.small.__code__, {"LIMIT": 1000})
d = D(1, 5, 7)
print(run(d, 50, -1), run(c, 50, -1))
Direction = None
try:
    run(c, 5, -1)
except AttributeError as e:
    print("AttributeError", e)
"""
    )
    assert r.recorded["before"] == [True, False], r.recorded


def test_inherited_methods_are_inlined_for_the_class_passed(jit):
    # The callee's own loads were specialized for whichever subclass its
    # other callers passed last; inlined, they are specialized for the
    # objects each call passes. Other classes still take the call.
    r = jit(
        NOTE
        + """
class Base:
    def __init__(self, k):
        self.k = k
        self.w = k * 2
    def weight(self, other):
        return self.w + other.k
class A(Base):
    pass
class B(Base):
    def __init__(self, k):
        self.extra = 0
        super().__init__(k)
def total_a(x, y, n):
    s = 0
    for i in range(n):
        s += x.weight(y)
    return s
def total_b(x, y, n):
    s = 0
    for i in range(n):
        s += x.weight(y)
    return s
a, b = A(3), B(4)
for k in range(40):
    print(total_a(a, a, 20), total_b(b, b, 20))
note("a", total_a)
note("b", total_b)
print(total_a(b, a, 10), total_b(a, b, 10), total_a(a, b, 10))
"""
    )
    assert r.recorded == {"a": 1, "b": 1}, r.recorded


def test_a_method_called_on_objects_of_several_classes_stays_inlined(jit):
    # One call site, a base class's method, objects of four classes whose
    # attributes sit at different places (another order, a class attribute
    # standing in, `__slots__`): the body reads each through a cache of the
    # classes it met, and the call stays inlined. Objects whose attribute
    # is a property, is read by a `__getattribute__`, or lives in a
    # `__dict__` that took over the inline values take the real call.
    r = jit(
        NOTE
        + """
class Base:
    def __init__(self, k):
        self.k = k
        self.w = k * 2
    def weight(self):
        return self.w + self.k
class A(Base):
    pass
class B(Base):
    def __init__(self, k):
        self.extra = 0
        super().__init__(k)
class C(Base):
    w = 100
    def __init__(self, k):
        self.k = k
class S(Base):
    __slots__ = ("k", "w")
class P(Base):
    reads = 0
    @property
    def w(self):
        P.reads += 1
        return 5
    def __init__(self, k):
        self.k = k
class G(Base):
    def __getattribute__(self, name):
        return 1 if name == "k" else object.__getattribute__(self, name)
def total(objs, n):
    s = 0
    for i in range(n):
        for o in objs:
            s += o.weight()
    return s
objs = [A(1), B(2), C(3), S(4)]
for k in range(40):
    print(total(objs, 10))
note("several", total)
d = A(5)
vars(d).update({f"a{i}": i for i in range(40)})
c = C(6)
c.w = 2**70
print(total([d, P(6), G(7), c] + objs, 3), P.reads)
c.w = "x"
try:
    total([c], 1)
except TypeError as e:
    print("TypeError", e)
note("after", total)
"""
    )
    assert r.recorded["several"] == 1, r.recorded
    assert r.recorded["after"] <= 1, r.recorded


def test_subscripts_of_a_class_with_getitem_run_it_inlined(jit):
    # `done[i]` where `done`'s class defines `__getitem__` in Python: the
    # method runs in the caller without a frame. An error inside it (an
    # index out of range, a wrong type), a subclass with its own, a method
    # or `__code__` replaced, tracing: the real call, its traceback too.
    r = jit(
        NOTE
        + """
import sys
class Cells:
    def __init__(self, n):
        self.cells = [[i, -i] for i in range(n)]
    def __getitem__(self, i):
        return self.cells[i]
class Shifted(Cells):
    def __getitem__(self, i):
        return self.cells[i // 2]
def total(done, n):
    s = 0
    for i in range(n):
        s += done[i][0] + done[n - 1 - i][1]
    return s
c = Cells(8)
for k in range(40):
    print(total(c, 8))
note("cells", total)
print(total(Shifted(8), 8))
for bad in (9, "x", 2**80):
    try:
        c[bad]
        total(c, bad if bad == 9 else 1)
    except (IndexError, TypeError) as e:
        import traceback
        print(type(e).__name__, traceback.format_exc().count("__getitem__"))
c.cells = (tuple(range(8)),) * 8
try:
    print(total(c, 8))
except TypeError as e:
    print("TypeError", e)
c.cells = [[1, 2]] * 8
Cells.__getitem__.__code__ = (lambda self, i: [i, i]).__code__
print(total(c, 8))
Cells.__getitem__ = lambda self, i: [0, i]
print(total(c, 8))
calls = []
sys.settrace(lambda f, e, a: calls.append(f.f_code.co_name) if e == "call" else None)
print(total(c, 3))
sys.settrace(None)
print(calls.count("<lambda>"))
"""
    )
    assert r.recorded == {"cells": 2}, r.recorded


def test_a_body_whose_int_words_keep_leaving_computes_either_kind(jit):
    # The callee's arithmetic specialized for ints, then given floats: its
    # inlined body's int words leave for the call until the caller is
    # compiled again with the body's ints of either kind, still inlined.
    r = jit(
        NOTE
        + """
def f(a, b):
    return a * b + a - 1
def run(x, y, n):
    t = 0
    for i in range(n):
        t += f(x, y)
    return t
for k in range(40):
    run(3, 4, 20)
note("ints", run)
for k in range(60):
    r = run(1.5, 4, 20)
note("mixed", run)
print(r, run(2**40, 2**30, 3), run(True, 2, 2), run(-0.0, 3, 2))
"""
    )
    assert r.recorded == {"ints": 1, "mixed": 1}, r.recorded


def test_slots_are_read_and_stored_in_place_by_inlined_bodies(jit):
    # A slotted class's methods inlined read and store its slots through
    # the site caches in the stencils: an unset slot (deleted) leaves for
    # the call's `AttributeError`, a store over a value with a `__del__`
    # leaves for the interpreter's store (the finalizer runs in the
    # method's frame), another layout at the same site takes its own way.
    r = jit(
        NOTE
        + """
class P:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x, self.y = x, y
    def norm(self):
        return self.x * self.x + self.y * self.y
    def scale(self, k):
        self.x = self.x * k
        return self.y
class Q:
    def __init__(self, x, y):
        self.x, self.y = x, y
    norm, scale = P.norm, P.scale
class Loud:
    def __del__(self):
        import sys
        print("del in", sys._getframe(1).f_code.co_name)
    def __mul__(self, k):
        return 2
def run(ps, n):
    t = 0
    for i in range(n):
        for p in ps:
            t += p.norm() + p.scale(1.0)
    return t
def show(ps, n=2):
    try:
        return run(ps, n)
    except Exception as e:
        return type(e).__name__, str(e)
ps = [P(1.5, 2.0), P(3.0, 0.5)]
for k in range(40):
    run(ps, 10)
note("bodies", run)
print(show(ps), show([P(1, 2), Q(3.0, 4.0)]))
del ps[1].y
print(show(ps))
ps[1].y = 2.5
ps[0].x = Loud()
print(show(ps[:1], 1))
print(show(ps))
"""
    )
    assert r.recorded == {"bodies": 2}, r.recorded


def test_binary_operators_of_a_class_run_its_methods_inlined(jit):
    # `a - b`, `a + b`... of two instances of a class defining the method
    # in Python run the method inlined (its class call, `P(...)`, in turn);
    # anything else takes the operator: another class on either side (a
    # subclass's reflected method first), `NotImplemented` (the operator's
    # `TypeError`), an error in the method (its frame in the traceback),
    # a method or its code replaced, tracing.
    r = jit(
        NOTE
        + """
import sys
class P:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __sub__(self, o):
        return P(self.x - o.x, self.y - o.y)
    def __add__(self, o):
        return self.x * o.x + self.y * o.y
    def __mul__(self, o):
        return NotImplemented if self.x is None else self.x * o.x
    def __repr__(self):
        return f"P({self.x}, {self.y})"
class Q(P):
    def __rsub__(self, o):
        return "rsub"
class H:
    def __init__(self, p):
        self.p = p
def total(h, a, n):
    out = []
    for i in range(n):
        d = h.p - a
        out.append((d.x, d.y, a + d, a * d))
    return out[-1]
def show(h, a, n=3):
    try:
        return total(h, a, n)
    except Exception as e:
        import traceback
        return type(e).__name__, str(e), traceback.format_exc().count("__")
a, h = P(1.5, 2), H(P(0.5, 1))
for k in range(40):
    total(h, a, 20)
note("ops", total)
print(show(h, a))
print(show(h, Q(1, 2)), show(H(Q(1, 2)), a))
print(show(h, P(2**70, 1.5)), show(h, P("a", "b")), show(h, P(None, 1)))
del a.y
print(show(h, a))
a.y = 4
P.__add__.__code__ = (lambda self, o: "code").__code__
print(show(h, a))
P.__sub__ = lambda self, o: "replaced"
print(show(h, a))
calls = []
sys.settrace(lambda f, e, arg: calls.append(f.f_code.co_name) if e == "call" else None)
print(show(h, a))
sys.settrace(None)
print(calls.count("__add__"), calls.count("<lambda>"), calls.count("__mul__"))
"""
    )
    # Three operators, and the class call in `__sub__`.
    assert r.recorded == {"ops": 4}, r.recorded


def test_a_raise_in_an_inlined_body_is_the_real_calls(jit):
    # `raise IndexError` on a path the callee's calls took: the inlined
    # body leaves there, and the real call raises, its frame in the
    # traceback.
    r = jit(
        NOTE
        + """
import traceback
class Grid:
    def __init__(self, w, h):
        self.width, self.height = w, h
    def index(self, x, y):
        if 0 <= x < self.width and 0 <= y < self.height:
            return y * self.width + x
        raise IndexError
def run(g, n):
    s = 0
    for i in range(n):
        try:
            s += g.index(i % 10, i % 5)
        except IndexError:
            s -= 1
    return s
g = Grid(10, 5)
for k in range(30):
    print(run(g, 40))
note("inlined", run)
try:
    g.index(3, 9)
except IndexError:
    traceback.print_exc()
g.width = 3
print(run(g, 20))
g.width = 2.5
print(run(g, 20))
"""
    )
    assert r.recorded["inlined"] == 1, r.recorded


def test_isinstance_in_an_inlined_body_answers_from_the_types(jit):
    # `isinstance(idx, Kind)` with `Kind` a class of metaclass `type`: the
    # instance's type answers (a subclass too), or `False` for a built-in
    # type's instance; an instance with a `__class__` of its own, a class
    # with an `__instancecheck__`, a tuple of classes: the real call.
    r = jit(
        NOTE
        + """
Kind = tuple
class Grid:
    def __init__(self, n):
        self.rows = [[i, -i] for i in range(n)]
    def __getitem__(self, idx):
        if isinstance(idx, Kind):
            return self.rows[idx[1]][idx[0]]
        return self.rows[idx]
class Pair(tuple):
    pass
class Disguised:
    @property
    def __class__(self):
        return tuple
    def __index__(self):
        return 1
class Meta(type):
    def __instancecheck__(cls, obj):
        return type(obj) is int
class Ints(metaclass=Meta):
    pass
def total(g, n):
    s = 0
    for i in range(n):
        s += g[i][0] + g[1, i]
    return s
g = Grid(8)
for k in range(40):
    print(total(g, 8))
note("grid", total)
def probe(g, idx):
    try:
        return g[idx]
    except Exception as e:
        return type(e).__name__
for idx in (Pair((1, 2)), [0, 1], 3, True, 2.5, None, "x", Disguised()):
    print(probe(g, idx))
Kind = Ints
print(probe(g, 1), probe(g, (1, 2)))
Kind = (tuple, list)
print(probe(g, [1, 2]), probe(g, 1))
"""
    )
    assert r.recorded == {"grid": 2}, r.recorded


def test_static_methods_called_through_their_class_are_inlined(jit):
    # `Strength.weaker(a, b)`, a static method of a global class (which
    # CPython 3.13 does not specialize): its function inlined as a
    # function's call; replaced, the real call.
    r = jit(
        NOTE
        + """
class Strength:
    def __init__(self, s):
        self.strength = s
    @staticmethod
    def weaker(s1, s2):
        return s1.strength > s2.strength
def count(a, b, n):
    c = 0
    for i in range(n):
        if Strength.weaker(a, b):
            c += 1
    return c
a, b = Strength(3), Strength(2)
for k in range(40):
    print(count(a, b, 10), count(b, a, 10))
note("static", count)
b.strength = 2.5
print(count(a, b, 5))
Strength.weaker = staticmethod(lambda s1, s2: "replaced")
print(count(a, b, 5))
Strength.weaker = classmethod(lambda cls, s1, s2: cls is Strength)
print(count(a, b, 5))
del Strength.weaker
try:
    count(a, b, 1)
except AttributeError as e:
    print(e)
"""
    )
    assert r.recorded["static"] == 1, r.recorded


def test_functions_and_calls_with_computed_arguments_are_inlined(jit):
    r = jit(
        NOTE
        + """
def sq(x):
    return x * x
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
def run(n):
    s = 0
    for i in range(n):
        s += sq(i & 255) + clamp(i % 1000, 100, 900)
    return s
for k in range(30):
    print(run(200))
note("inlined", run)
print(run(5))
sq = lambda x: -x
print(run(5))
def clamp(x, lo, hi):
    return 0
print(run(5))
print([clamp(1.5, 0, 1), sq(2.5)])
"""
    )
    assert r.recorded["inlined"] == 2, r.recorded


def test_unspecialized_operators_leave_for_the_call_but_for_ints_and_floats(jit):
    # `/`, `//`, `%` and shifts (which CPython 3.13 never specializes) and
    # operators whose types changed are computed inline for ints and floats
    # only (shifts, ints, and in a word: `1 << 69` is the call's);
    # anything else, a zero divisor included, takes the real call, which
    # raises with the callee's frame in the traceback.
    r = jit(
        NOTE
        + """
class Grid:
    def __init__(self, w):
        self.w = w
        self.s = 1
    def cell(self, k):
        return k // self.w % 8
    def ratio(self, v):
        return v / self.w
    def mask(self, k):
        return ((1 << k) - 1) >> self.s
def run(g, n):
    s = 0
    for i in range(n):
        s += g.cell(i) + g.ratio(i) + g.mask(i)
    return s
g = Grid(3)
for k in range(30):
    print(run(g, 50))
note("inlined", run)
g.w = 2.5
print(run(g, 20))
g.w = 2**70
print(run(g, 20))
g.w = 0
try:
    run(g, 5)
except ZeroDivisionError:
    import traceback
    traceback.print_exc()
g.w, g.s = 3, -1
try:
    run(g, 5)
except ValueError:
    import traceback
    traceback.print_exc()
g.s = 2**70
print(run(g, 70))
class Odd(int):
    def __rfloordiv__(self, other):
        return 1
    def __rtruediv__(self, other):
        return 2
    def __rrshift__(self, other):
        return 3
g.w = g.s = Odd(5)
print(run(g, 5))
print(run(Grid(True), 70))
"""
    )
    assert r.recorded["inlined"] == 3, r.recorded


def test_class_calls_run_their_init_inlined(jit):
    # The instance is made where the call's NULL was and `__init__`'s
    # stores fill it; whatever leaves after some stores frees the half-made
    # instance (its class has no finalizer) and makes the call. A class
    # with `__slots__` (a call CPython does not specialize) is inlined
    # too; one with a finalizer, and an `__init__` returning a value, take
    # the call.
    r = jit(
        NOTE
        + """
import gc, weakref
class V:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y * 2
        self.z = z + self.y
    def total(self):
        return self.x + self.y + self.z
class Slots:
    __slots__ = ("a", "b")
    def __init__(self, a, b):
        self.a = a
        self.b = a - b
class Finalized:
    def __init__(self, x):
        self.x = x
    def __del__(self):
        print("del", self.x)
class Returns:
    def __init__(self, x):
        if x > 40:
            return x
        self.x = x
def make(n):
    out = []
    for i in range(n):
        v = V(i, 2, 3)
        s = Slots(i, 1)
        out.append(v.total() + s.b)
    return out[-3:]
for k in range(30):
    print(make(20))
note("inlined", make)
def odd(n, y):
    out = []
    for i in range(n):
        try:
            out.append(V(i, y, 3).z)
        except TypeError as e:
            out.append(str(e))
    return out
for k in range(30):
    odd(5, 2)
print(odd(3, 2.5), odd(2, "ab"), odd(1, None))
def other_init(self, x, y, z):
    self.x = -x
    self.y = y
    self.z = z
V.__init__.__code__ = other_init.__code__
print(make(3))
def fin(n):
    for i in range(n):
        Finalized(i)
fin(3)
def returns(n):
    for i in range(n):
        Returns(i)
for k in range(3):
    try:
        returns(45)
    except TypeError as e:
        print(e)
for k in range(20):
    make(3)
V.extra = 1
print(make(3))
def new_init(self, x, y, z):
    self.x = x * 100
    self.y = 0
    self.z = 0
V.__init__ = new_init
print(make(3))
class W(V):
    pass
print([W(1, 2, 3).total() for _ in range(3)])
refs = [weakref.ref(V(1, 2, 3)) for _ in range(3)]
gc.collect()
print([r() for r in refs])
"""
    )
    # `V(...)`, `Slots(...)` and `v.total()`.
    assert r.recorded["inlined"] == 3, r.recorded


def test_items_and_lengths_are_read_inline_and_anything_else_makes_the_call(jit):
    # A body reading an item of a list or tuple by a non-negative int, or
    # the `len()` of a list, tuple, string or dict, or building a tuple of
    # them, runs inline; a negative or out-of-range index, a bool, a
    # subclass, a class with its own `__len__` or `__getitem__`, or a
    # rebound `len` takes the real call, which raises with the callee's
    # frame in the traceback.
    r = jit(
        NOTE
        + """
import sys
class Board:
    def __init__(self, cells, row):
        self.cells = cells
        self.row = row
    def done(self, i):
        return len(self.cells[i]) == 1
    def at(self, i):
        return self.row[i] + 1
    def size(self):
        return len(self.row)
    def ends(self):
        return (self.row[0], self.row[len(self.row) - 1])
def run(b, n):
    total = 0
    for i in range(n):
        k = i % 4
        if b.done(k):
            total += b.at(k)
        total += b.size()
        first, last = b.ends()
        total += first - last
    return total
b = Board([[1], [1, 2], (3,), "x"], (10, 20, 30, 40))
for k in range(30):
    r = run(b, 40)
print(r)
note("inlined", run)
class Sized(list):
    def __len__(self):
        print("len of", self[0], "in", sys._getframe(1).f_code.co_name)
        return 1
class Row(tuple):
    def __getitem__(self, i):
        return 100
for cells, row in [
    ([[1], {1: 2}, "ab", Sized([5, 6])], (1, 2, 3, 4)),
    ([[1], [], (), ""], Row((1, 2, 3, 4))),
    ([[1]] * 4, [7, 8, 9, 10]),
    ([[1]] * 4, (1.5, 2.5, 3.5, 4.5)),
]:
    print(run(Board(cells, row), 8))
def neg(b, n):
    return [b.at(-1 - i % 2) for i in range(n)]
print(neg(Board([], (1, 2, 3)), 4))
def off(b, n):
    out = []
    for i in range(n):
        try:
            out.append(b.at(i))
        except IndexError:
            import traceback
            out.append(traceback.format_exc().count("in at"))
    return out
for k in range(30):
    off(Board([], (1, 2, 3, 4, 5, 6)), 5)
print(off(Board([], (1, 2)), 4))
print(run(Board([[1], [1, 2], (3,), "x"], (10, True, 30, 40)), 8))
len = lambda x: 1
print(run(b, 8))
del len
print(run(b, 8))
"""
    )
    assert r.recorded["inlined"] == 4, r.recorded


def test_bodies_with_locals_of_their_own_release_them_as_the_frame_would(jit):
    # A callee's locals beyond its parameters live above the arguments,
    # unbound until stored; the return releases them, and a body that
    # leaves after storing some releases them before the call starts over,
    # which raises with the callee's frame in the traceback.
    r = jit(
        NOTE
        + """
class K:
    def __init__(self, a, b, items):
        self.a, self.b, self.items = a, b, items
    def spread(self, k):
        lo = self.a - k
        hi = self.b + k
        return (lo, hi)
    def pick(self, i):
        t = self.items[i]
        if t is None:
            raise KeyError(i)
        return t
    def twice(self, k):
        x = self.a * k
        x = x + self.b
        return x
def run(o, n):
    total = 0
    for i in range(n):
        lo, hi = o.spread(i)
        total += hi - lo + o.pick(i % 3) + o.twice(i)
    return total
o = K(3, 4, [5, 6, 7])
for k in range(30):
    r = run(o, 40)
print(r)
note("inlined", run)
class Noisy:
    def __init__(self, v):
        self.v = v
    def __del__(self):
        print("del", self.v)
    def __sub__(self, k):
        return 1
    def __add__(self, k):
        return 2
    def __mul__(self, k):
        return 3
for a, b, items in [
    (2.5, -1.5, [1, 2, 3]),
    (2**70, 3, (4, 5, 6)),
    ("x", "y", [1, 2, 3]),
    (1, 2, [1, None, 3]),
    (Noisy(1), Noisy(2), [0, 0, 0]),
]:
    try:
        print(run(K(a, b, items), 5))
    except Exception:
        import traceback
        traceback.print_exc()
"""
    )
    assert r.recorded["inlined"] == 3, r.recorded


def test_math_functions_of_floats_and_ints_are_called_inline(jit):
    # `math` functions computing from one float run inline on an exact
    # float or int; any other argument (one with `__float__` in Python
    # included), an error (a domain error, an int too large) or a rebound
    # name takes the real call, which raises with the callee's frame in
    # the traceback or runs the Python code.
    r = jit(
        NOTE
        + """
import math
from math import sin, cos, sqrt
class Point:
    __slots__ = ("x", "y", "z")
    def __init__(self, i):
        self.x = x = sin(i)
        self.y = cos(i) * 3
        self.z = (x * x) / 2
class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y
    def norm(self):
        return sqrt(self.x * self.x + self.y * self.y)
    def angle(self):
        return math.atan(self.y)
    def root(self):
        return sqrt(self.y)
def run(n, v):
    s = 0.0
    for i in range(n):
        p = Point(i)
        s += p.z + v.norm() + v.angle() + v.root()
    return round(s, 6)
v = Vec(3, 4)
for k in range(30):
    r = run(40, v)
print(r)
note("inlined", run)
class F:
    def __float__(self):
        print("float of F")
        return 2.0
    def __mul__(self, o):
        return 1.0
    def __add__(self, o):
        return 1.0
for x, y in [
    (0.5, 1.5),
    (2**70, 1),
    ("a", 1),
    (F(), 1),
    (1e200, 1e200),
    (1j, 0),
    (1, -1.0),
    (1, 2**1100),
]:
    try:
        print(run(3, Vec(x, y)))
    except Exception:
        import traceback
        traceback.print_exc()
def sqrt(x):
    return -1.0
print(run(3, v))
"""
    )
    assert r.recorded["inlined"] == 4, r.recorded


def test_bodies_storing_attributes_have_their_frame_made_where_they_leave(jit):
    # Methods that store into attributes are inlined; once a body has
    # stored, it cannot start the call over: whatever leaves it (a guard,
    # a value whose release may run code, an error) has the callee's frame
    # made from the body's values and run by the interpreter from there.
    # Finalizers, properties and tracebacks see that frame.
    r = jit(
        NOTE
        + """
import sys, traceback
from math import sqrt
class Obj:
    def __init__(self, v):
        self.v = v
class C:
    def __init__(self):
        self.x = 0
        self.y = 0
        self.n = 0
    def set_both(self, a, b):
        self.x = a
        self.y = b
        return self.x
    def bump(self, o):
        self.n = self.n + 1
        self.x = o.v
        return self.n
    def halve(self, v):
        self.y = v
        return v // 2
    def root(self, v):
        self.x = v
        return sqrt(v)
    def add_to(self, k):
        self.n += k
        return self.n
    def put_item(self, lst, i, v):
        lst[i] = v
        return lst[i]
class S:
    __slots__ = ("a", "b")
    def __init__(self):
        self.a = 0
        self.b = 0
    def put(self, v):
        self.a = v
        self.b = v + 1
        return self.a
def run(c, s, o, n, lst=[0, 1, 2]):
    t = 0
    for i in range(n):
        t += c.set_both(i, i + 1)
        t += c.bump(o)
        t += c.halve(i)
        t += c.root(i)
        t += s.put(i)
        t += c.add_to(i) % 7
        t += c.put_item(lst, i % 3, i)
    return t
c, s, o = C(), S(), Obj(1)
for k in range(30):
    print(run(c, s, o, 40))
note("inlined", run)
# An instance whose `__dict__` took its values over: stores go there.
d = C()
d.__dict__["extra"] = 1
print(run(d, s, o, 40), d.n, d.x, vars(d))
print(c.x, c.y, c.n, s.a, s.b)
class Loud:
    def __init__(self, name):
        self.name = name
    def __del__(self):
        print("del", self.name, "in", sys._getframe(1).f_code.co_name)
    def __radd__(self, other):
        return other
class Prop:
    @property
    def v(self):
        print("getter called from", sys._getframe(1).f_code.co_name)
        return 5
def attempt(f, *args):
    try:
        print(f(*args))
    except Exception:
        traceback.print_exc(file=sys.stdout)
c.x = Loud("old x")
attempt(run, c, s, o, 2)
c.y = Loud("old y")
c.set_both(1, 2)
attempt(run, c, s, Prop(), 2)
attempt(run, c, s, object(), 2)
attempt(run, c, s, Obj(2.5), 2)
attempt(run, c, s, Obj([1]), 2)
attempt(c.root, -1.0)
attempt(c.root, "x")
attempt(c.halve, 7.0)
attempt(c.halve, "x")
attempt(s.put, "x")
attempt(s.put, 2**70)
attempt(c.put_item, [Loud("old item")], 0, 5)
attempt(c.put_item, (1, 2), 0, 5)
attempt(c.put_item, [1], 3, 5)
attempt(run, c, s, o, 2, [Loud("in list"), 1, 2])
c.n = Loud("old n")
attempt(run, c, s, o, 2)
c.n = 0
attempt(run, d, s, o, 2, (1, 2, 3))
print(c.x, c.y, c.n, s.a, s.b)
for k in range(30):
    print(run(c, s, o, 40))
print(c.x, c.y, c.n, s.a, s.b)
"""
    )
    assert r.recorded["inlined"] >= 4, r.recorded


def test_calls_in_inlined_bodies_are_inlined_in_turn(jit):
    # A method calling another method or making an instance has that call
    # inlined in its inlined body; anything that fails in the inner call
    # (its guards, a replaced method or `__init__`, an error) makes the
    # outer call for real, whose frames the traceback shows.
    r = jit(
        NOTE
        + """
import traceback
class V:
    def __init__(self, x, y):
        self.x = x
        self.y = y
    def must(self):
        return self
    def scale(self, k):
        return V(k * self.x, k * self.y)
    def dot(self, o):
        o.must()
        return self.x * o.x + self.y * o.y
    def first(self, o):
        return o.get_x() + 1
    def get_x(self):
        return self.x
class Holder:
    def __init__(self, v):
        self.v = v
    def value(self):
        return self.v.get_x()
def run(a, b, h, n):
    t = 0
    for i in range(n):
        c = a.scale(2)
        t += c.x + c.y
        t += a.dot(b)
        t += a.first(b)
        t += h.value()
    return t
x = 0
a, b, h = V(1, 2), V(3, 4), Holder(V(5, 6))
for k in range(30):
    print(run(a, b, h, 40))
note("inlined", run)
def attempt(*args):
    try:
        print(run(*args))
    except Exception:
        traceback.print_exc()
attempt(a, V(1.5, "s"), h, 2)
attempt(a, b, Holder(None), 2)
attempt(V(2**70, 1.0), b, h, 2)
V.get_x = lambda self: -self.x
attempt(a, b, h, 3)
V.__init__ = lambda self, x, y: setattr(self, "x", x) or setattr(self, "y", -y)
attempt(a, b, h, 3)
V.must = lambda self: print("must called")
attempt(a, b, h, 1)
for k in range(30):
    print(run(a, b, h, 40))
"""
    )
    assert r.recorded["inlined"] >= 4, r.recorded


def test_an_error_after_a_store_reaches_the_callers_handler(jit):
    # The made frame raises; the caller's own `except` catches it, its
    # traceback showing both frames, and the loop goes on compiled.
    r = jit(
        """
import sys, traceback
class C:
    def __init__(self):
        self.x = 0
    def setget(self, v, o):
        self.x = v
        return o.val
class O:
    def __init__(self, v):
        self.val = v
def run(c, objs, n):
    t = 0
    for i in range(n):
        try:
            t += c.setget(i, objs[i % len(objs)])
        except AttributeError:
            t -= 1
            if i % 50 == 1:
                traceback.print_exc(file=sys.stdout)
    return t
c = C()
good = [O(1), O(2)]
for k in range(30):
    print(run(c, good, 40))
mixed = [O(1), object(), O(3)]
for k in range(5):
    print(run(c, mixed, 60), c.x)
print(run(c, good, 40), c.x)
jitsaw = sys.modules.get("jitsaw")
if jitsaw and jitsaw.is_enabled():
    _record("materialized", jitsaw.stats()["exits"].get("raise:_INLINE_MATERIALIZE", 0) > 0)
"""
    )
    assert r.recorded.get("materialized"), r.recorded


def test_a_made_frame_switching_profiling_on_is_seen_after_it(jit):
    # The frame made after a store runs a property whose getter switches
    # profiling on: the call's periodic check after the made frame, and the
    # calls after it, see it as the interpreter does.
    jit(
        """
import sys
class C:
    def __init__(self):
        self.x = 0
    def setget(self, v, o):
        self.x = v
        return o.val
class O:
    def __init__(self, v):
        self.val = v
events = []
class Switch:
    @property
    def val(self):
        sys.setprofile(lambda f, e, a: events.append((e, f.f_code.co_name)) if e == "call" else None)
        return 100
def run(c, objs, n):
    t = 0
    for i in range(n):
        t += c.setget(i, objs[i % len(objs)])
    return t
c = C()
for k in range(30):
    print(run(c, [O(1), O(2)], 40))
print(run(c, [O(1), Switch(), O(3), O(4)], 8))
sys.setprofile(None)
print(events)
print(run(c, [O(1), O(2)], 40), c.x)
"""
    )
