"""Attribute loads and stores through per-site caches (`_LOAD_ATTR_CACHED`,
`_STORE_ATTR_CACHED`): every way an attribute can be found, and every change
to a class or an instance that must make a cached answer stale, differential
against the interpreter."""


import pytest

# `Py_TPFLAGS_INLINE_VALUES` (CPython's internal flag, `1 << 2`).
INLINE_VALUES = 1 << 2


def test_types_with_inline_values_have_a_bare_objects_basic_size():
    # jitsaw reads an object's inline values right after its header
    # (`cpython313::inline::inline_values`), as CPython 3.13 gives a type
    # the flag only when its basic size is a bare object's. Checked on
    # every type alive here and on classes of many bases.
    import collections
    import enum
    import gc
    import sys
    import threading

    class Plain:
        pass

    class Sub(Plain):
        pass

    class Err(Exception):
        pass

    class Slotted:
        __slots__ = ("a",)

    class SlottedSub(Slotted):
        pass

    class Ints(int):
        pass

    class Items(list):
        pass

    class Named(collections.namedtuple("N", "a b")):
        pass

    class Color(enum.Enum):
        RED = 1

    class Worker(threading.Thread):
        pass

    types = [o for o in gc.get_objects() if isinstance(o, type)]
    types += [Plain, Sub, Err, Slotted, SlottedSub, Ints, Items, Named, Color, Worker]
    flagged = [t for t in types if t.__flags__ & INLINE_VALUES]
    assert Plain in flagged and Sub in flagged and Worker in flagged
    bare = object.__basicsize__
    assert bare == 2 * 8 and sys.maxsize == 2**63 - 1
    assert [t for t in flagged if (t.__basicsize__, t.__itemsize__) != (bare, 0)] == []



@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_sites_serving_many_layouts_see_every_change(jit, threshold):
    # One function reads and writes the same names on instances of many
    # layouts (inline values at different indices, __dict__-backed, slots,
    # no __dict__ at all), then classes and instances change under it.
    # Compiled at once, the sites are generic; compiled after the
    # interpreter specialized them, they are cached in their fallbacks.
    r = jit(
        """
        class A:
            kind = "A"
            def __init__(self, v):
                self.v = v; self.w = v * 2
            def meth(self):
                return ("A.meth", self.v)
        class B:
            kind = "B"
            def __init__(self, v):
                self.w = -v; self.pad = 0; self.v = v + 100
            def meth(self):
                return ("B.meth", self.w)
        class Many:
            kind = "Many"
            def __init__(self, v):
                for i in range(40):
                    setattr(self, f"a{i}", i)
                self.v = v; self.w = 7
            def meth(self):
                return ("Many.meth", self.a39)
        class S:
            __slots__ = ("v", "w")
            kind = "S"
            def __init__(self, v):
                self.v = v
            def meth(self):
                return ("S.meth", self.v)
        class SS(S):
            __slots__ = ("extra",)
        class Sub(A):
            kind = 42
        def read(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.v, o.w, o.kind, o.meth()))
                except AttributeError as e:
                    out.append(("AttributeError", str(e)))
            return out
        def write(objs, k):
            for o in objs:
                try:
                    o.v = k; o.w = k + 1
                except AttributeError as e:
                    print("write:", e)
        def objs():
            return [A(1), B(2), Many(3), S(4), SS(5), Sub(6), A(7)]
        os_ = objs()
        for rnd in range(3):
            print(read(os_))
            write(os_, rnd)
        print(read(os_))
        print([sorted(vars(o)) if hasattr(o, "__dict__") else None for o in os_])
        print(list(vars(os_[1])))        # insertion order kept by stores
        # Instance attributes shadowing methods and class attributes.
        os_[0].meth = lambda: "instance meth"
        os_[1].kind = "instance kind"
        os_[2].meth = lambda: "many instance meth"
        print(read(os_))
        # Class changes: methods replaced, class attributes removed, a
        # property (a data descriptor) now wins over the instance's value.
        A.meth = lambda self: ("new A.meth", self.w)
        del B.kind
        S.kind = "S2"
        Sub.w = property(lambda self: "property w")
        print(read(os_))
        del Sub.w
        print(read(os_))
        # A __getattr__ and a __getattribute__ added later.
        B.__getattr__ = lambda self, name: f"getattr {name}"
        print(read(os_))
        def ga(self, name):
            return "ga:" + name if name == "v" else object.__getattribute__(self, name)
        Many.__getattribute__ = ga
        print(read(os_))
        del Many.__getattribute__
        # Deleted attributes and unset slots.
        del os_[0].v
        del os_[3].v
        print(read(os_))
        # A __dict__ taken over (non-str key), __dict__ replaced, and
        # __class__ changed.
        os_[5].__dict__[1] = "one"
        os_[6].__dict__ = {"v": "dv", "w": "dw"}
        os_[1].__class__ = A
        print(read(os_))
        write(os_, 50)
        print(read(os_))
        return_ = [o.__dict__ if hasattr(o, "__dict__") else None for o in os_]
        print([sorted(map(str, d)) if d is not None else None for d in return_])
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("read", "write")
    assert r.stats["attribute_cache"]["filled"] > 0


def test_cached_attributes_follow_descriptors_and_setattr(jit):
    # Descriptor types that change, __setattr__ added later, read-only
    # members, class attributes that are themselves classes or functions.
    r = jit(
        """
        class Plain:
            pass
        class Holder:
            thing = Plain()
            fn = len
            def __init__(self):
                self.x = 1
        def load(h):
            return (type(h.thing).__name__, h.fn("abc"), h.x)
        def store(h, v):
            h.x = v
            return h.x
        h = Holder()
        for i in range(5):
            print(load(h), store(h, i))
        Plain.__get__ = lambda self, obj, tp: "now a descriptor"
        print(load(h), store(h, 9))
        log = []
        def setattr_(self, name, value):
            log.append((name, value))
            object.__setattr__(self, name, value * 10)
        Holder.__setattr__ = setattr_
        print(store(h, 3), log)
        del Holder.__setattr__
        print(store(h, 4), log)
        def real(c):
            return c.real
        def set_real(c):
            try:
                c.real = 5
            except AttributeError as e:
                return str(e)
        print([real(c) for c in (1, 2.5, 3j, True)], set_real(1j), set_real(Holder()))
        """
    )
    r.assert_compiled("load", "store", "real")


def test_dict_backed_instances_through_hints(jit):
    # Instances whose attributes live in a __dict__ (too many for inline
    # values): loads and stores go to the entry the cache last found the
    # name at, checked; a watched __dict__ still reports every store, and
    # a __dict__ the GC does not track yet gets tracked when it must.
    r = jit(
        """
        import gc, _testcapi
        class Big:
            def __init__(self, k):
                for i in range(35):
                    setattr(self, f"f{i}", i * k)
                self.x = k
        class Other:
            def __init__(self, k):
                self.__dict__.update({"x": -k, "y": 0})
        def bump(objs, n):
            t = 0
            for _ in range(n):
                for o in objs:
                    o.x = o.x + 1
                    t += o.x
            return t
        objs = [Big(1), Big(2), Other(3)]
        for i in range(4):
            print(bump(objs, 50))
        # A __dict__ laid out differently: the hint misses, then learns.
        b = Big(5)
        del b.f0
        b.f0 = "again"
        objs.append(b)
        print(bump(objs, 20), b.f0)
        w = _testcapi.add_dict_watcher(0)
        _testcapi.watch_dict(w, objs[0].__dict__)
        print(bump(objs[:1], 3))
        print(_testcapi.get_dict_watcher_events())
        _testcapi.unwatch_dict(w, objs[0].__dict__)
        _testcapi.clear_dict_watcher(w)
        # A __dict__ holding only ints is not tracked by the GC: a store
        # making a cycle through it must track it, or the cycle leaks.
        import weakref
        def link(o, v):
            o.x = v
        big = Big(1)
        for i in range(5):
            link(big, i)
        link(big, big)
        ref = weakref.ref(big)
        del big
        gc.collect()
        print(ref() is None)
        """
    )
    r.assert_compiled("bump", "link")


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_class_defaults_instances_shadow_and_dunder_class(jit, threshold):
    # Class attributes that are defaults for instance attributes
    # (`parent = None`, set on some instances only), which CPython does not
    # specialize, read from inline values, from the class, from a __dict__
    # that took the values over; then every change that must be seen.
    # And `__class__` read through `object`'s descriptor or another.
    r = jit(
        """
        class Base:
            type = None
            parent = None
            children = ()
            fn = len
            def __init__(self, t):
                self.type = t
        class Node(Base):
            def __init__(self, t, kids):
                self.type = t
                self.children = kids
                for k in kids:
                    k.parent = self
        class Leaf(Base):
            pass
        class Crowded(Base):
            def __init__(self, t):
                for i in range(40):
                    setattr(self, f"a{i}", i)
                self.type = t
        class Odd(Base):
            @property
            def __class__(self):
                return int
        def read(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.type, o.parent is None, len(o.children),
                                o.__class__.__name__, o.fn("abc")))
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
            return out
        def reparent(objs, p):
            for o in objs:
                o.parent = p
                o.fn = str.upper
        def objs():
            leaves = [Leaf(1), Leaf(2)]
            return [Node(0, leaves), *leaves, Crowded(3), Odd(4), Base(5)]
        os_ = objs()
        for rnd in range(3):
            print(read(os_))
        del os_[1].type
        os_[2].fn = str.upper
        print(read(os_))
        # The defaults rebound, then a property (a data descriptor) over the
        # instances' own values, then gone again.
        Base.type = "changed"
        Leaf.children = [9, 9]
        print(read(os_))
        Base.parent = property(lambda self: "prop")
        print(read(os_))
        del Base.parent
        print(read(os_))
        # The default now a descriptor: instances still shadow it.
        Base.fn = lambda self, s: ("method", s)
        print(read(os_))
        # Stores beside a default go to the instance.
        for p in range(4):
            reparent(os_, p)
        print(read(os_), sorted(vars(os_[5])))
        Base.parent = property(lambda self: "getter", lambda self, v: print("setter", v))
        reparent(os_[:2], "q")
        print(read(os_))
        del Base.parent
        # __class__ changed, a __dict__ taken over, and a non-str key whose
        # __eq__ rebinds the default while a lookup compares with it.
        os_[5].__class__ = Leaf
        class Key:
            def __hash__(self):
                return hash("parent")
            def __eq__(self, other):
                print("eq ran")
                Base.parent = "from eq"
                return False
        os_[3].__dict__[Key()] = 1
        os_[2].__dict__.update(zip(map(str, range(50)), range(50)))
        print(read(os_))
        print(read(os_))
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("read", "reparent")


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_attributes_of_classes_read_from_the_class(jit, threshold):
    # Loads whose owner is a class (metaclass `type`): class attributes,
    # functions, method and slot descriptors, properties read from the
    # class, which CPython does not specialize where `type` has an attribute
    # of the name (`dict.__repr__`), classmethods and staticmethods (bound
    # or unwrapped each time); the same site seeing classes and their
    # instances; every change to a class or its bases; names where `type`
    # has a data descriptor; a metaclass.
    r = jit(
        """
        class Meta(type):
            ZERO = "meta"
        class Base:
            ZERO = 0
            def m(self):
                return "m"
            @property
            def p(self):
                return "p"
            @classmethod
            def c(cls):
                return cls.__name__
            @staticmethod
            def s():
                return "s"
        class Sub(Base):
            pass
        class WithMeta(Base, metaclass=Meta):
            pass
        class Other(Base):
            ZERO = "other"
        def show(v):
            if isinstance(v, property):
                return "a property"
            return getattr(v, "__qualname__", None) or v
        def read(owners):
            out = []
            for o in owners:
                c = o.c
                row = [o.__class__.__name__, o.c(), c(), o.s(), o.__doc__, show(o.__repr__)]
                try:
                    row.append(show(o.ZERO))
                except AttributeError as e:
                    row.append(str(e))
                try:
                    row.append(show(o.m))
                except AttributeError as e:
                    row.append(str(e))
                try:
                    row.append(show(o.p))
                except AttributeError as e:
                    row.append(str(e))
                try:
                    row.append(o.__name__)
                except AttributeError as e:
                    row.append(str(e))
                out.append(row)
            return out
        def builtins():
            return [show(t.__repr__) for t in (dict, list, int, tuple)] + [
                show(list.append), show(int.real), show(type.__name__)]
        owners = [Base, Sub, Base(), WithMeta, Sub()]
        for rnd in range(3):
            print(read(owners), builtins())
        Base.ZERO = "changed"
        print(read(owners))
        Sub.ZERO = "sub"
        Base.m = lambda self: "new m"
        print(read(owners))
        del Sub.ZERO
        Base.ZERO = property(lambda self: "zero property")
        print(read(owners))
        Base.__doc__ = "documented"
        Sub.__repr__ = lambda self: "repr"
        # A classmethod made again in place: the class does not change.
        Base.__dict__["c"].__init__(lambda cls: "again " + cls.__name__)
        print(read(owners))
        del Base.ZERO
        print(read(owners))
        Sub.__bases__ = (Other,)
        print(read(owners))
        # A classmethod of something not callable fails at the call.
        Base.__dict__["c"].__init__(42)
        try:
            read(owners)
        except TypeError as e:
            print(e)
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("read", "builtins")


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_methods_loaded_as_values_are_bound_to_their_instance(jit, threshold):
    # `append = items.append`: a method (a Python function or a method
    # descriptor) read as a value is bound to the instance, and a
    # classmethod or staticmethod read from an instance either way is what
    # its `__get__` answers, unless the instance has an attribute of the
    # name; every change seen.
    r = jit(
        """
        class Base:
            @classmethod
            def c(cls, x):
                return (cls.__name__, x)
            @staticmethod
            def s(x):
                return ("static", x)
        class A(Base):
            def m(self, x):
                return ("A.m", x)
        class S(Base):
            __slots__ = ("v",)
            def m(self, x):
                return ("S.m", x)
        class Many(Base):
            def __init__(self):
                for i in range(40):
                    setattr(self, f"a{i}", i)
            def m(self, x):
                return ("Many.m", x)
        def bind(objs):
            out = []
            for o in objs:
                m = o.m
                c, s = o.c, o.s
                out.append((m(1), getattr(m, "__self__", None) is o, m == o.m, m is o.m,
                            o.c(2), c(3), o.s(4), s(5), c == o.c, s is o.s))
            items = []
            append = items.append
            for i in range(3):
                append(i)
            get = {1: "one"}.get
            return out, items, get(1), "a-b".split("-"), (3).bit_length()
        objs = [A(), S(), Many(), A()]
        for rnd in range(3):
            print(bind(objs))
        objs[0].m = lambda x: ("instance", x)
        objs[2].m = lambda x: ("many instance", x)
        print(bind(objs))
        A.m = lambda self, x: ("new A.m", x)
        del objs[0].m
        print(bind(objs))
        S.m = staticmethod(lambda x: ("static", x))
        print(bind(objs))
        A.m = property(lambda self: (lambda x: ("property", x)))
        print(bind(objs))
        # Instances shadowing them, a classmethod made again in place, and
        # the class's own changes.
        objs[0].c = lambda x: ("instance c", x)
        objs[2].s = lambda x: ("instance s", x)
        Base.__dict__["c"].__init__(lambda cls, x: ("again", cls.__name__, x))
        print(bind(objs))
        Base.s = classmethod(lambda cls, x: ("now a classmethod", x))
        del Base.c
        Base.c = 42
        try:
            bind(objs)
        except TypeError as e:
            print(e)
        # A descriptor whose __get__ raises, read from instances and from
        # classes, both ways: the error leaves compiled code as it would.
        Base.u = classmethod.__new__(classmethod)
        def uninitialized(owners):
            out = []
            for o in owners:
                try:
                    out.append(o.u)
                except RuntimeError as e:
                    out.append(("value", str(e)))
                try:
                    out.append(o.u())
                except RuntimeError as e:
                    out.append(("call", str(e)))
            return out
        for rnd in range(3):
            print(uninitialized([A, objs[1], S, objs[2]]))
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("bind", "uninitialized")
    assert r.stats["exits"].get("raise:_LOAD_ATTR_CACHED", 0) + r.stats["exits"].get(
        "raise:_LOAD_ATTR_CACHED_METHOD", 0
    ) > 0, r.stats["exits"]


def test_method_calls_answered_in_compiled_code_see_shadowing(jit):
    # A method call's method is found in compiled code while no instance
    # attribute can hide it (no __dict__, or inline values whose shared keys
    # did not grow); an instance attribute of the name added mid-loop, a
    # __dict__ taken over, or the method replaced on the class is seen at
    # the next call, as the interpreter sees it.
    r = jit(
        """
        class P:
            def __init__(self, v):
                self.v = v
            def get(self):
                return self.v
        class Q(P):
            def get(self):
                return -self.v
        class S:
            __slots__ = ("v",)
            def __init__(self, v):
                self.v = v
            def get(self):
                return self.v * 10
        def total(objs, n, at):
            t = []
            for i in range(n):
                if i == at:
                    objs[0].get = lambda: "shadowed"
                    objs[1].__dict__
                    objs[1].extra = 1
                if i == at + 5:
                    Q.get = lambda self: ("new Q.get", self.v)
                t.append(objs[i % len(objs)].get())
            return t
        for k in range(4):
            print(total([P(1), Q(2), S(3)], 30, 100))
        print(total([P(1), Q(2), S(3)], 30, 10))
        print(total([P(4), Q(5), S(6)], 30, 100))
        """
    )
    r.assert_compiled("total")


def test_method_calls_on_instances_whose_attributes_moved_to_their_dict(jit):
    # Instances whose attributes live in their `__dict__` (replaced, grown
    # past the shared keys, 300 entries wide, with deleted entries): their
    # method is found in compiled code while the dict's str keys rule the
    # name out; a key of the name added mid-loop hides it, whether the very
    # name object, an equal str made at run time, or a str subclass (whose
    # dict compares by calling code), and deleting it shows the method again.
    r = jit(
        """
        class K(str):
            def __eq__(self, other):
                print("K.__eq__", other == "get")
                return str.__eq__(self, other)
            __hash__ = str.__hash__
        class P:
            def __init__(self, v, wide, holes=True):
                self.v = v
                for i in range(wide):
                    setattr(self, f"a{i}", i)
                for i in range(0, wide if holes else 0, 3):
                    delattr(self, f"a{i}")
            def get(self):
                return self.v
        def calls(objs, n, at):
            t = []
            for i in range(n):
                if i == at:
                    objs[0].__dict__["get"] = lambda: "shadowed"
                    objs[1].__dict__["".join(["g", "et"])] = lambda: "equal"
                    objs[2].__dict__[K("get")] = lambda: "subclass"
                    objs[4].get = lambda: "wide"
                if i == at + 6:
                    del objs[0].__dict__["get"]
                    del objs[1].get
                    del objs[4].get
                t.append(objs[i % len(objs)].get())
            return t
        def make():
            objs = [P(1, 0), P(2, 40), P(3, 300), P(4, 5), P(5, 300, holes=False)]
            objs[0].__dict__ = {"v": 10, "w": 11}
            return objs
        for k in range(4):
            print(calls(make(), 30, 100))
        print(calls(make(), 30, 10))
        """
    )
    r.assert_compiled("calls")


def test_stores_into_instances_whose_attributes_moved_to_their_dict(jit):
    # Stores at sites compiled before the interpreter specialized them, into
    # instances whose attributes live in their `__dict__`: replaced where the
    # name was last found, as `STORE_ATTR_WITH_HINT` does, and read back; a
    # dying old value's `__del__` runs at the store; the entry moving (the
    # name deleted and set again), the dict replaced, and a name the dict
    # lacks all take the general way.
    r = jit(
        """
        class Noisy:
            def __init__(self, tag):
                self.tag = tag
            def __del__(self):
                print("del", self.tag)
        class P:
            def __init__(self, wide):
                for i in range(wide):
                    setattr(self, f"a{i}", i)
                self.x = 0
        def stores(objs, n):
            total = 0
            for i in range(n):
                o = objs[i % len(objs)]
                o.x = i
                o.y = i * 2
                total += o.x + o.y
                if i == 7:
                    del objs[1].x
                    objs[1].x = -1
                if i == 11:
                    objs[2].__dict__ = {"x": 100}
                if i == 13:
                    objs[0].x = Noisy("a")
                    print("stored a")
                    objs[0].x = Noisy("b")
                    print("stored b")
            return total, [(o.x, o.y, len(vars(o))) for o in objs]
        def make():
            objs = [P(0), P(40), P(300)]
            objs[0].__dict__ = {"x": 1, "z": 2}
            return objs
        for k in range(3):
            print(stores(make(), 20))
        """
    )
    r.assert_compiled("stores")


def test_specialized_loads_from_instance_dicts_that_change(jit):
    # `LOAD_ATTR_WITH_HINT` compiled with its name burned in, on instances
    # whose attributes live in their `__dict__`: the dict gaining a key that
    # is not a str (a table CPython reads in another layout), the name
    # moving to another entry, and the dict emptied and refilled, each seen
    # as the interpreter sees it.
    r = jit(
        """
        class P:
            def __init__(self, wide):
                for i in range(wide):
                    setattr(self, f"a{i}", i)
                self.x = 1
        def loads(objs, n):
            t = 0
            for i in range(n):
                o = objs[i % len(objs)]
                t += o.x + o.a5
            return t
        objs = [P(40), P(40)]
        for k in range(6):
            print(loads(objs, 50))
        objs[0].__dict__[1] = 2
        print(loads(objs, 50))
        del objs[1].x
        objs[1].x = 5
        print(loads(objs, 50))
        objs[1].__dict__.clear()
        objs[1].a5 = 4
        objs[1].x = 3
        print(loads(objs, 50))
        """,
        env={"JITSAW_THRESHOLD": "2"},
    )
    r.assert_compiled("loads")


def test_method_calls_of_callables_held_by_instances(jit):
    # `o.f()` where `f` is an instance attribute (a plain value to the
    # site's cache, no method): the generic method-call load pushes it with
    # a NULL below its arguments, next to classes whose `f` is a method.
    r = jit(
        """
        class A:
            def __init__(self, k):
                self.f = lambda: ("A", k)
        class B:
            def __init__(self, k):
                self.pad = k
                self.f = lambda *a: ("B", k, a)
        class C:
            def f(self):
                return "C.f"
        def call(objs, n):
            out = []
            for i in range(n):
                o = objs[i % len(objs)]
                out.append(o.f())
                out.append(o.f(*()) if i % 3 else None)
            return out
        for k in range(4):
            print(call([A(k), B(k), C(), A(-k)], 40))
        """
    )
    r.assert_compiled("call")
    assert "_LOAD_ATTR_CACHED_METHOD" in r.uops("call")


def test_specialized_loads_of_callables_called_as_methods(jit):
    # `o.f()` at a site seeing one class whose instances hold `f`: CPython
    # specializes the load as for any attribute (inline values, a slot, a
    # dict-backed instance), pushing a NULL above it for the call; jitsaw
    # copies those stencils per method bit (`__LOW0`/`__LOW1`), and the plain
    # loads next to them push nothing.
    r = jit(
        """
        class A:
            def __init__(self, k):
                self.f = lambda *a: ("A", k, a)
        class S:
            __slots__ = ("f", "k")
            def __init__(self, k):
                self.k = k
                self.f = lambda *a: ("S", k, a)
        class D:
            def __init__(self, k):
                self.__dict__ = {"f": lambda *a: ("D", k, a), "k": k}
        def call(o, n):
            out = []
            for i in range(n):
                out.append(o.f(i))
                out.append((o.f is not None, o.f()))
            return out[-3:], len(out)
        def slots(o, n):
            out = []
            for i in range(n):
                out.append(o.f(i))
                out.append((o.k, o.f()))
            return out[-3:], len(out)
        def hinted(o, n):
            out = []
            for i in range(n):
                out.append(o.f(i))
                out.append((o.k, o.f()))
            return out[-3:], len(out)
        for k in range(40):
            out = call(A(k), 200), slots(S(k), 200), hinted(D(k), 200)
        print(out)
        # The guards failing: another class, the attribute gone.
        a = A(1)
        print(call(S(2), 3), slots(A(3), 2) if hasattr(A(3), "k") else None)
        del a.f
        try:
            call(a, 2)
        except AttributeError as e:
            print("AttributeError", e)
        d = D(5)
        del d.f
        try:
            hinted(d, 2)
        except AttributeError as e:
            print("AttributeError", e)
        print(hinted(D(6), 2), call(D(7), 2))
        """
    )
    r.assert_compiled("call", "slots", "hinted")
    for name, load in [
        ("call", "_LOAD_ATTR_INSTANCE_VALUE"),
        ("slots", "_LOAD_ATTR_SLOT"),
        ("hinted", "_LOAD_ATTR_WITH_HINT"),
    ]:
        assert any(u.startswith(load) for u in r.uops(name)), name


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_property_getters_entered_from_compiled_code(jit, chaos):
    # A property whose getter is a plain Python function of the instance is
    # entered directly from the attribute site (as CPython's
    # LOAD_ATTR_PROPERTY); everything else about properties goes the
    # generic way, and a getter that changes (redefined on the class, or the
    # same property object re-initialized) or raises is seen at once.
    r = jit(
        """
        import sys, traceback
        class P:
            def __init__(self, v):
                self._v = v
            @property
            def v(self):
                return self._v * 2
            @property
            def bad(self):
                return self._v // (self._v - 3)
            @property
            def deep(self):
                return self._v if self._v <= 0 else P(self._v - 1).deep + 1
            @property
            def two(self, extra=1):
                return self._v + extra
            @property
            def gen(self):
                yield self._v
            def _w(self):
                return -self._v, sys._getframe(1).f_lineno, sys._getframe(1).f_code.co_name
            w = property(_w)
        class Q(P):
            @property
            def v(self):
                return "q" + str(self._v)
        class Mine(property):
            pass
        class R(P):
            v = Mine(lambda self: ("r", self._v))
            def __getattr__(self, name):
                return ("missing", name)
            @property
            def bad(self):
                raise AttributeError("bad")
        def reads(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.v, o.two, o.deep, next(o.gen)))
                    out.append(o.w)
                    out.append(o.bad)
                except (ZeroDivisionError, TypeError, AttributeError):
                    out.append(traceback.format_exc().splitlines()[-3:])
            return out
        objs = [P(i) for i in range(6)] + [Q(2), R(5), R(3)]
        for i in range(13):
            print(i, reads(objs))
            if i == 4:
                P.w = property(lambda self: ("lambda", self._v))
            if i == 6:
                P.__dict__["v"].__init__(lambda self: ("re-init", self._v))
            if i == 8:
                P.__dict__["v"].__init__(len)
            if i == 9:
                print(P.v is P.__dict__["v"])
                P.v = property(len)
            if i == 10:
                P.v = property(None)
            if i == 11:
                P.v = property(lambda self: self._v)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("reads")
    assert r.stats["properties_entered"] > (10 if chaos else 100), r.stats["properties_entered"]


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_property_setters_run_from_compiled_code(jit, chaos):
    # A store to a property whose setter is a plain Python function runs the
    # setter directly from the attribute site; its result is released, and
    # setters that raise, recurse, are missing (the AttributeError), are not
    # functions, change (redefined on the class, or the property object
    # re-initialized), a subclass's plain attribute, an instance __dict__
    # entry of the name and a __setattr__ are as in the interpreter.
    r = jit(
        """
        import sys, traceback
        class T:
            def __init__(self):
                self._c = 0.0
            @property
            def c(self):
                return self._c
            @c.setter
            def c(self, v):
                if v is None:
                    raise ValueError("None")
                self._c = v
                return ("ignored", v)
            @property
            def ro(self):
                return 1
            def _deep(self, n):
                self._c = n
                if n > 0:
                    self.deep = n - 1
            deep = property(None, _deep)
            def _where(self, v):
                self._c = (v, sys._getframe(1).f_code.co_name)
            where = property(None, _where)
        class S(T):
            c = 5
        class Slots:
            __slots__ = ("_x",)
            x = property(lambda self: self._x, lambda self, v: setattr(self, "_x", v * 2))
        class Hook(T):
            def __setattr__(self, name, v):
                object.__setattr__(self, name, ("hooked", v))
        def writes(objs, v):
            out = []
            for o in objs:
                try:
                    o.c = v
                    out.append(o.c)
                    o.where = v
                    out.append(o._c)
                    o.ro = v
                except (ValueError, AttributeError, TypeError) as e:
                    out.append((type(e).__name__, str(e), traceback.format_exc().splitlines()[-3:]))
            return out
        def slots(o, n):
            for i in range(n):
                o.x = i
            return o.x
        def deep(n):
            t = T()
            try:
                t.deep = n
                return t._c
            except RecursionError as e:
                return ("RecursionError", str(e))
        print([deep(n) for n in (10, 500, 5000)])
        t = T()
        t.__dict__["c"] = "instance"
        objs = [T(), S(), Hook(), t]
        for i in range(10):
            print(i, writes(objs, i), writes(objs, None), slots(Slots(), 20), t.__dict__)
            if i == 3:
                T.c = property(lambda self: ("new", self._c), lambda self, v: setattr(self, "_c", -v))
            if i == 5:
                T.__dict__["c"].__init__(lambda self: self._c, lambda self, v: setattr(self, "_c", [v]))
            if i == 7:
                T.__dict__["c"].__init__(lambda self: self._c, len)
            if i == 8:
                T.c = property(lambda self: self._c)
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    r.assert_compiled("writes")
    assert r.stats["properties_entered"] > (0 if chaos else 100), r.stats["properties_entered"]


def test_attribute_accesses_of_locals_borrow_their_owner(jit):
    # `o.x` and `o.x = v` of a local `o` take `o` without a new reference
    # (`optimize::borrow`), or read it in place (`optimize::fuse`). Every
    # way they can leave for the interpreter or the generic path (another
    # type, an instance whose values moved to a dict, a deleted attribute)
    # must hand it an owned `o`, and reference counts and object lifetimes
    # must be as plain.
    r = jit(
        """
        import sys, weakref
        class P:
            def __init__(self, x, y):
                self.x = x
                self.y = y
        class Q(P):
            pass
        def total(objs):
            t = 0
            for o in objs:
                t = t + o.x * o.y
            return t, sys.getrefcount(o)
        def method(o, n):
            s = 0
            for i in range(n):
                s += o.x
            return s, sys.getrefcount(o)
        def store(objs, v):
            for o in objs:
                o.x = v
                o.y = o.x
            return sys.getrefcount(o), sys.getrefcount(v)
        class Noisy:
            def __del__(self):
                print("freed while stored over")
        class A:
            def __init__(self, v):
                self.v = v
        class B:
            def __init__(self, v):
                self.w = 0
                self.v = v
            @property
            def p(self):
                return self.v * 2
        def poly(objs):
            # One site, several layouts: the per-site cache's forms.
            t = 0
            for o in objs:
                o.v = o.v + 1
                t = t + o.v
            return t, [sys.getrefcount(o) for o in objs]
        def prop(objs):
            return [o.p for o in objs]
        dead = []
        def last_use(n):
            # The owner's only reference is the local: it dies when the
            # local is rebound, after the load.
            r = 0
            for i in range(n):
                o = P(i, i + 1)
                weakref.finalize(o, dead.append, i)
                r += o.y
                o = None
            return r, len(dead)
        plain = [P(i, 2) for i in range(30)]
        for k in range(4):
            print(total(plain), method(plain[3], 25), last_use(20))
        mixed = [P(1, 2), Q(3, 4), P(5, 6)]
        print(total(mixed))
        objs = [P(i, i) for i in range(10)]
        for k in range(3):
            print(store(objs, k * 1.5), total(objs))
        print(store(mixed, 2.5), total(mixed))
        n = P(Noisy(), 0)
        print(store([P(0, 0), n], 4))
        s = P(1, 2)
        s.__dict__["w"] = 3
        print(store([P(0, 0), s], 5), s.__dict__, sys.getrefcount(s))
        d = P(7, 8)
        d.__dict__["z"] = 1  # the values move to a dict
        print(total([P(1, 1), d, P(2, 2)]), sys.getrefcount(d))
        g = P(9, 10)
        del g.y
        try:
            total([P(1, 1), g])
        except AttributeError as e:
            print("AttributeError", e, sys.getrefcount(g))
        print([sys.getrefcount(o) for o in plain[:5]])
        # Recompiled twice: specialized for one layout, then cached.
        for k in range(40):
            out = poly([A(1), B(2), A(3), B(4)]), prop([B(k), B(k + 1)])
            if k % 10 == 9:
                print(out)
        odd = B(5)
        odd.__dict__["v"] = 6  # values in a dict: the runtime's path
        print(poly([A(1), odd]), sys.getrefcount(odd))
        try:
            poly([A(1), object()])
        except AttributeError as e:
            print("AttributeError", e)
        """
    )
    r.assert_compiled("total", "method", "last_use", "store")
    # The first load of a local's attribute reads the local in place, its
    # class checks included (`optimize::fuse`); `o.y` after `o.x`, whose
    # checks are dropped as repeated, loads the local without a reference.
    for name in ("total", "method", "last_use"):
        assert "_LOAD_ATTR_INSTANCE_VALUE_LOCAL" in r.uops(name), name
    assert "_LOAD_ATTR_INSTANCE_VALUE_BORROWED" in r.uops("total")
    assert "_STORE_ATTR_INSTANCE_VALUE_BORROWED" in r.uops("store")
    r.assert_compiled("poly", "prop")
    assert "_LOAD_ATTR_CACHED_BORROWED" in r.uops("poly")
    assert "_STORE_ATTR_CACHED_BORROWED" in r.uops("poly")
    assert "_LOAD_ATTR_CACHED_BORROWED" in r.uops("prop")


def test_slot_and_dict_backed_attributes_of_locals_borrow_their_owner(jit):
    # The `__slots__` load and store and the dict-backed (`_WITH_HINT`)
    # load of a local take it without a new reference; an empty slot, a
    # key no longer at its hint and an instance without a dict give it one
    # before they leave.
    r = jit(
        """
        import sys
        class S:
            __slots__ = ("a", "b")
            def __init__(self, a, b):
                self.a = a
                self.b = b
        class D:
            def __init__(self, n):
                for i in range(n):  # enough attributes for a dict of its own
                    setattr(self, f"x{i}", i)
                self.v = n
        def slots(objs, v):
            t = 0
            for o in objs:
                o.b = v
                t = t + o.a
            return t, sys.getrefcount(o), sys.getrefcount(v)
        def hinted(objs):
            t = 0
            for o in objs:
                t = t + o.v
            return t, sys.getrefcount(o)
        ss = [S(i, 0) for i in range(10)]
        ds = [D(40) for i in range(10)]
        for k in range(40):
            out = slots(ss, k * 0.5), hinted(ds)
        print(out)
        empty = S.__new__(S)
        try:
            slots([S(1, 2), empty], 3)
        except AttributeError as e:
            print("AttributeError", e, sys.getrefcount(empty))
        moved = D(40)
        del moved.x0
        moved.v = 7
        other = D(3)
        print(hinted([ds[0], moved, other]), sys.getrefcount(moved), sys.getrefcount(other))
        """
    )
    r.assert_compiled("slots", "hinted")
    uops = r.uops("slots")
    assert "_LOAD_ATTR_SLOT_BORROWED" in uops and "_STORE_ATTR_SLOT_BORROWED" in uops
    assert "_LOAD_ATTR_WITH_HINT_BORROWED" in r.uops("hinted")


def test_classes_assigned_to_often_keep_their_attribute_caches(jit):
    # CPython gives a class at most 1000 version tags in its life (and none
    # to its subclasses after that). Assigning to a class attribute does not
    # give it one in the interpreter, so a loop of such stores must not use
    # them up either (jitsaw's store cache once classified the class at each
    # store, which assigned a tag): the instances' attribute sites then stay
    # cached. A class whose tags did run out (loads and stores, as plain
    # CPython uses them up too) takes the generic path, remembered per site:
    # it is not classified again at every access.
    r = jit(
        """
        import sys
        def stats():
            if "jitsaw" in sys.modules and sys.modules["jitsaw"].is_enabled():
                return dict(sys.modules["jitsaw"].stats()["attribute_cache"])
            return {"filled": 0, "generic": 0}
        class Base:
            flag = 0
            def m(self):
                return self.x
        class A(Base):
            def __init__(self, x):
                self.x = x
        class B(Base):
            def __init__(self, x):
                self.x = -x
        def assign(n):
            for i in range(n):
                Base.flag = i
        def bump(n):
            for i in range(n):
                Exhausted.count += 1
        def read(objs):
            total = 0
            for o in objs:
                total += o.x + o.m() + o.flag
                o.x = o.x
            return total
        objs = [A(i) if i % 3 else B(i) for i in range(600)]
        for _ in range(3):
            assign(700)
        before = stats()
        print(read(objs), Base.flag)
        after = stats()
        _record("assigned", {k: after[k] - before[k] for k in after})
        class Exhausted(A):
            count = 0
        for _ in range(3):
            bump(500)
        many = [Exhausted(i) for i in range(600)]
        before = stats()
        print(read(many), read(many), Exhausted.count)
        after = stats()
        _record("exhausted", {k: after[k] - before[k] for k in after})
        Exhausted.extra = "seen"
        print(read(many), many[0].extra, A(1).flag, Exhausted.count)
        """
    )
    r.assert_compiled("assign", "read", "bump")
    # 600 objects, 5 attribute accesses each (x, m, flag, x, x =): none
    # generic, a few entries filled.
    assert r.recorded["assigned"]["generic"] == 0, r.recorded
    assert r.recorded["assigned"]["filled"] < 20, r.recorded
    # The exhausted class's accesses are generic (loads and stores of `x`:
    # 3600), but its type is classified once per site, not at each.
    assert r.recorded["exhausted"]["generic"] >= 3600, r.recorded
    assert r.recorded["exhausted"]["filled"] < 20, r.recorded


def test_sites_meeting_many_types_take_what_other_sites_learned(jit):
    # A site that meets more types than it keeps entries for (handlers of
    # a dozen classes in turn) takes each type's entry from those other
    # sites (or itself, earlier) learned, keyed by type version, name and
    # access, instead of classifying the type again at every access. What
    # changes a type (a class attribute assigned, a method replaced, a
    # property removed, an instance attribute shadowing a class one)
    # changes its version and is seen; attribute names made at run time
    # and dropped with their code cannot be taken for one another.
    r = jit(
        """
        import sys
        def stats():
            if "jitsaw" in sys.modules and sys.modules["jitsaw"].is_enabled():
                return dict(sys.modules["jitsaw"].stats()["attribute_cache"])
            return {"filled": 0, "shared": 0, "generic": 0}
        class Base:
            b = "base"
            def m(self):
                return self.a * 2
        kinds = []
        for i in range(12):
            ns = {"k": i}
            if i % 4 == 1:
                ns["__slots__"] = ("a",)
            if i % 4 == 2:
                ns["p"] = property(lambda self, i=i: self.a + i)
            else:
                ns["p"] = i
            if i % 4 == 3:
                ns["m"] = lambda self: -self.a
            kinds.append(type(f"K{i}", (Base,), ns))
        def make(n):
            objs = []
            for j in range(n):
                o = kinds[j % len(kinds)]()
                o.a = j
                objs.append(o)
            return objs
        def read(objs):
            total = []
            for o in objs:
                total.append((o.a, o.m(), o.p, o.b, o.k, type(o).k))
            return total
        def again(objs):
            out = 0
            for o in objs:
                out += o.a + o.m() + (o.p if type(o.p) is int else 0) + o.k
                o.a = o.a
            return out
        objs = make(240)
        for _ in range(4):
            first = read(objs)
            print(again(objs), first[:13] == read(objs)[:13])
        before = stats()
        print(again(objs), len(read(objs)))
        after = stats()
        _record("steady", {k: after[k] - before[k] for k in after})
        kinds[0].k = "changed"
        kinds[3].m = lambda self: "replaced"
        del kinds[2].p
        kinds[2].p = "plain"
        kinds[5].b = "own"
        objs[4].b = "instance"
        print(read(objs)[:13])
        try:
            again(objs)
        except TypeError as e:
            print("TypeError", e)
        for n in range(30):
            src = f"def get(objs):\\n    return [o.dyn{n} for o in objs]"
            ns = {}
            exec(src, ns)
            for o in objs[:24]:
                setattr(o, f"dyn{n}", n) if type(o).__name__ != "K1" else None
            try:
                for _ in range(3):
                    got = ns["get"](objs[:24])
            except AttributeError as e:
                got = str(e)
            print(n, got if isinstance(got, str) else sum(got))
            del ns
        kinds[2].p = property(lambda self: self.a)
        for _ in range(20):
            last = read(objs)
        print(last[:13])
        """
    )
    r.assert_compiled("read", "again")
    # 240 objects of 12 types, their sites' caches keeping 4: every entry
    # was learned before and is taken from those learned (a few, whose
    # slot two keys share, are classified again), where each of these
    # accesses classified its type before.
    steady = r.recorded["steady"]
    assert steady["filled"] < 20, r.recorded
    assert steady["shared"] > 200, r.recorded
    assert steady["generic"] == 0, r.recorded


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_attributes_of_modules_from_their_dict(jit, threshold):
    # Loads from modules at generic sites (CPython does not specialize a
    # module with a `__getattr__`) read the module's `__dict__`: names
    # added, replaced and deleted, the module's `__getattr__` for missing
    # ones (added, replaced, removed), names `ModuleType` itself has, a
    # module without a `__dict__` yet, a subclass of `ModuleType` with a
    # property, a dict with a non-str key, and method calls.
    r = jit(
        """
        import sys, types
        lazy = types.ModuleType("lazy")
        lazy.a = 1
        for k in range(300):
            setattr(lazy, f"filler{k}", k)
        def fallback(name):
            if name.startswith("dyn"):
                return "made " + name
            raise AttributeError(f"module 'lazy' has no attribute {name!r}")
        lazy.__getattr__ = fallback
        lazy.f = lambda x: x + 1
        class Sub(types.ModuleType):
            @property
            def a(self):
                return "property a"
        sub = Sub("sub")
        sub.__dict__["a"] = "shadowed"
        sub.b = "b of sub"
        bare = types.ModuleType.__new__(types.ModuleType)
        def read(m, name):
            try:
                return getattr(m, name)
            except AttributeError as e:
                return f"AttributeError: {e}"
        def loads(m):
            out = []
            for i in range(3):
                try:
                    out.append((m.a, m.dyn_x, m.__name__, m.f(i)))
                except AttributeError as e:
                    out.append(f"AttributeError: {e}")
                except TypeError as e:
                    out.append(f"TypeError: {e}")
            return out
        def others(m):
            try:
                return m.b, m.a
            except AttributeError as e:
                return f"AttributeError: {e}"
        def dict_of(m):
            return type(m.__dict__).__name__, m.__class__.__name__
        for step in range(12):
            print(step, loads(lazy), others(sub), dict_of(lazy), read(bare, "a"))
            if step == 3:
                lazy.a = "replaced"
            if step == 5:
                del lazy.a
            if step == 6:
                lazy.a = "back"
                del lazy.filler7
            if step == 7:
                del lazy.__getattr__
            if step == 8:
                lazy.__getattr__ = lambda name: "new " + name
            if step == 9:
                lazy.__dict__[1] = "int key"
                lazy.f = lambda x: x * 10
            if step == 10:
                sys.modules["lazy"] = lazy
                del lazy.f
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # The module's own names come from its `__dict__` through the cache
    # (the generic path took 319 and 216 accesses when they did not).
    assert r.stats["attribute_cache"]["generic"] < 200, r.stats["attribute_cache"]


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_class_attributes_of_instances_with_a_dict_at_an_offset(jit, threshold):
    # Instances of types of C with a `__dict__` at `tp_dictoffset` (`ast`
    # nodes; exceptions, and the classes deriving from them) read class
    # attributes and methods through the caches: an instance attribute of
    # the name shadowing them (set, deleted, before and after the instance
    # has a `__dict__`), the class attribute replaced, methods called and
    # loaded as values, a `__dict__` replaced wholesale.
    r = jit(
        """
        import ast
        class Failure(Exception):
            code = 7
            def describe(self):
                return ("Failure", self.args, self.code)
        class Sub(Failure):
            pass
        def read(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.code, o.describe(), o.describe.__name__))
                except AttributeError as e:
                    out.append(f"AttributeError: {e}")
            return out
        def fields(nodes):
            return [(type(n).__name__, n._fields, n._attributes) for n in nodes]
        def own(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.extra, o.args))
                except AttributeError as e:
                    out.append(f"AttributeError: {e}")
            return out
        def node_attrs(nodes):
            out = []
            for n in nodes:
                try:
                    out.append((n.id, n.lineno))
                except AttributeError as e:
                    out.append(f"AttributeError: {e}")
            return out
        e1, e2 = Failure("e1"), Sub("e2")
        e1.extra = "extra 1"
        named = [ast.Name("y", ast.Store(), lineno=3), ast.Name("z", ast.Load()), ast.Constant(2)]
        f, s = Failure("a"), Sub("b")
        nodes = [ast.Name("x", ast.Load()), ast.Constant(1), ast.Load()]
        import sys
        def generic_accesses():
            # The jitted run's count (its driver imported jitsaw); 0 plain.
            jitsaw = sys.modules.get("jitsaw")
            return jitsaw.stats()["attribute_cache"]["generic"] if jitsaw else 0
        before = generic_accesses()
        for step in range(14):
            print(step, read([f, s, Failure("c")]), fields(nodes), own([e1, e2]), node_attrs(named))
            if step == 1:
                e2.extra = "extra 2"
                named[1].lineno = 9
            if step == 2:
                f.code = "own"
            if step == 3:
                s.describe = lambda: "shadowed"
            if step == 4:
                del f.code
            if step == 5:
                Failure.code = 8
            if step == 6:
                nodes[0]._fields = ("mine",)
            if step == 7:
                del s.describe
                f.__dict__ = {"code": "whole dict"}
            if step == 8:
                Failure.describe = lambda self: ("replaced", self.code)
            if step == 9:
                del Failure.code
            if step == 10:
                ast.Constant._fields = ("value", "kind", "extra")
            if step == 11:
                f.__dict__ = {1: "int key"}
                e1.__dict__ = {"extra": "new dict"}
                del named[0].lineno
            if step == 12:
                del e2.extra
                named[2].id = "constant id"
        _record("generic", generic_accesses() - before)
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # The class attributes come through the caches: the loop's accesses on
    # the generic path (`args`, `__name__` and the like still take it) are
    # 169 with them, about 260 and more without (331 and 303 in the whole
    # run, of which about 40 outside the loop). Counted over the loop only:
    # the run's whole count also holds the driver's and the imports'
    # accesses, which vary with what runs compiled (a warm-up runs with the
    # hook lifted or not by how long the code's first call took).
    assert r.recorded["generic"] < 200, r.stats["attribute_cache"]


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_instance_attributes_stored_into_a_dict_at_an_offset(jit, threshold):
    # Stores into the `__dict__` at `tp_dictoffset` of `ast` nodes and
    # exceptions go through the caches: before the instance has a
    # `__dict__` (the generic path makes it), into one replaced wholesale
    # (a dict subclass, whose `__setitem__` a store does not call; a dict
    # with keys other than str), an attribute deleted and stored again, a
    # property of the name on a subclass, then on the class itself.
    r = jit(
        """
        import ast
        class Failure(Exception):
            pass
        class Guarded(Failure):
            @property
            def note(self):
                return "guarded"
            @note.setter
            def note(self, v):
                self.__dict__["seen"] = v
        class Loud(dict):
            def __setitem__(self, k, v):
                print("setitem", k)
                super().__setitem__(k, v)
        def mark(objs, v):
            for o in objs:
                o.note = v
                o.count = getattr(o, "count", 0) + 1
            return [(o.note, o.count, sorted(k for k in vars(o) if isinstance(k, str))) for o in objs]
        objs = [Failure("a"), ast.Name("x", ast.Load()), Guarded("g"), ValueError("v")]
        for step in range(14):
            try:
                print(step, mark(objs, step))
            except AttributeError as e:
                print(step, "AttributeError", e)
            if step == 2:
                objs[0].__dict__ = Loud(note="loud")
            if step == 4:
                del objs[1].note
            if step == 5:
                objs[3].__dict__ = {1: "int key"}
            if step == 6:
                objs.append(Failure("new"))
            if step == 9:
                Failure.note = property(lambda self: "class property")
        print([{k: v for k, v in vars(o).items() if k != "ctx"} for o in objs])
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("mark")
    assert r.stats["attribute_cache"]["generic"] < 100, r.stats["attribute_cache"]


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_getter_setter_descriptors_answer_through_their_getter(jit, threshold):
    # Attributes served by a C type's getter (`getset_descriptor`, a data
    # descriptor): a frame's `f_back`, `f_code` and `f_lineno`, an
    # instance's `__dict__` (shadowed in the dict itself and by a subclass's
    # property), an exception's `args` and `__traceback__`, a function's
    # `__name__` and `__defaults__` as they change (and `args` replaced by a
    # subclass's property), a released memoryview's
    # `obj` (its getter raises), a descriptor moved to a class it does not
    # belong to (`__get__` refuses the instance), method-shaped calls of
    # such attributes, and a class's `__name__`, `__qualname__`, `__doc__`
    # and `__abstractmethods__` (`type`'s own getters) as the class is
    # renamed.
    r = jit(
        """
        import sys
        class C:
            "doc of C"
            def __init__(self, v):
                self.v = v
        class D(C):
            @property
            def __dict__(self):
                return "D's __dict__"
        class Bad:
            real = int.__dict__["real"]
        class E(KeyError):
            pass
        def f(a, b=1):
            return a + b
        def frames(n):
            out = []
            for i in range(n):
                fr = sys._getframe()
                out.append((fr.f_back.f_code.co_name, fr.f_code.co_name, fr.f_lineno))
            return out
        def caller():
            return frames(3)
        def dicts(objs):
            out = []
            for o in objs:
                try:
                    out.append((o.__dict__, sorted(o.__dict__) if isinstance(o.__dict__, dict) else 0))
                    out.append(o.__dict__())
                except TypeError as e:
                    out.append(f"TypeError: {e}")
            return out
        def others(objs):
            out = []
            for o in objs:
                try:
                    out.append(o.real)
                except TypeError as e:
                    out.append(f"TypeError: {e}")
                except ValueError as e:
                    out.append(f"ValueError: {e}")
            return out
        def released():
            out = []
            for m in (memoryview(b"ab"), memoryview(b"cd")):
                out.append(m.obj)
                m.release()
                try:
                    out.append(m.obj)
                except ValueError as e:
                    out.append(f"ValueError: {e}")
            return out
        def excs():
            out = []
            for k in range(3):
                try:
                    raise (E if k else KeyError)(k, "x")
                except KeyError as e:
                    out.append((e.args, e.__traceback__ is not None, e.__context__))
            return out
        def funcs(fn):
            return fn.__name__, fn.__defaults__, fn.__qualname__
        def classes(cls):
            out = [cls.__name__, cls.__qualname__, cls.__doc__]
            try:
                out.append(cls.__abstractmethods__)
            except AttributeError as e:
                out.append(f"AttributeError: {e}")
            try:
                out.append(cls.__name__())
            except TypeError as e:
                out.append(f"TypeError: {e}")
            return out
        shadowed = C(2)
        shadowed.__dict__["__dict__"] = "in the dict"
        for step in range(8):
            print(step, caller(), frames(1))
            print(step, dicts([C(1), shadowed, D(3), C(4)]))
            print(step, others([5, 2.5, Bad(), True]), released(), excs())
            print(step, funcs(f), classes(C), classes(D), classes(int))
            if step == 3:
                f.__name__ = "renamed"
                f.__defaults__ = (10,)
                C.__name__ = "C2"
                C.__qualname__ = "Outer.C2"
                C.__doc__ = "new doc"
            if step == 5:
                E.args = property(lambda self: "replaced")
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # The getters are called from the caches (the generic path took 468
    # and 425 accesses when they were not).
    assert r.stats["attribute_cache"]["generic"] < 100, r.stats["attribute_cache"]


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_class_attributes_of_program_classes_and_metaclasses(jit, threshold):
    # Loads from classes of attributes that are instances of the program's
    # classes (`Strength.REQUIRED = Strength(0)`; CPython does not
    # specialize them), whose class later gains and loses a `__get__` or
    # that change class; and loads from classes whose metaclass is not
    # `type` (an `Enum`, an `ABC`, a metaclass of the program), as that
    # metaclass gains a property of the name, its own `__doc__`, a plain
    # attribute of the name and a `__getattribute__`, and loses them.
    r = jit(
        """
        import abc, enum
        class Meta(type):
            pass
        class Strength:
            def __init__(self, s):
                self.s = s
            def __repr__(self):
                return f"S{self.s}"
        Strength.REQUIRED = Strength(0)
        class Other:
            def __repr__(self):
                return "Other"
        class Holder(metaclass=Meta):
            plain = 1
            s = Strength(3)
            def m(self):
                return "m"
        class MyEnumMeta(enum.EnumType):
            pass
        class Color(enum.Enum, metaclass=MyEnumMeta):
            RED = 1
            GREEN = 2
        class Base(abc.ABC):
            k = Strength(9)
        def strengths():
            m = Holder.m
            m = m if isinstance(m, tuple) else m.__name__
            return Strength.REQUIRED, Holder.s, Holder.plain, Holder.__name__, Holder.__doc__, m
        def others():
            return Base.k, Base.__name__, Color.RED, Color.GREEN, Color.__name__, Color.RED.value
        for step in range(12):
            print(step, [strengths() for i in range(3)][-1], [others() for i in range(3)][-1])
            if step == 1:
                Strength.__get__ = lambda self, obj, cls: ("got", self.s, cls.__name__)
            if step == 2:
                del Strength.__get__
            if step == 3:
                Holder.s.__class__ = Other
            if step == 4:
                Other.__get__ = lambda self, obj, cls: "Other.__get__"
            if step == 5:
                Meta.plain = property(lambda cls: "meta property")
                MyEnumMeta.GREEN = property(lambda cls: "enum meta property")
            if step == 6:
                Meta.__doc__ = property(lambda cls: "meta doc")
                Meta.s = "meta non-data"
            if step == 7:
                del Meta.plain, MyEnumMeta.GREEN
                abc.ABCMeta.k = property(lambda cls: "abc meta property")
            if step == 8:
                Meta.__getattribute__ = lambda cls, name: ("getattribute", name)
            if step == 9:
                del Meta.__getattribute__, abc.ABCMeta.k
                Meta.__doc__ = None
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # The generic path took 556 and 497 accesses when loads from such
    # classes all went there; left for it: the `__getattribute__` step and
    # the enum member's `value` (an `enum.property`).
    assert r.stats["attribute_cache"]["generic"] < 200, r.stats["attribute_cache"]


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_stores_through_a_dict_sharing_inline_values(jit, threshold):
    # Once `obj.__dict__` (or `vars(obj)`) is made for an instance whose
    # attributes are inline values, the dict shares them (CPython's
    # `_STORE_ATTR_INSTANCE_VALUE` deopts): replacing a value, adding a name
    # the shared keys have and one they lack, with a `__del__` of the old
    # value running at the store, the dict read back, and what a dict
    # watcher sees (through `_testcapi` when the build has it: 3.13.0's
    # generic store tells it nothing, and storing through the dict would).
    r = jit(
        """
        class Noisy:
            def __init__(self, tag):
                self.tag = tag
            def __del__(self):
                print("del", self.tag)
        class A:
            def __init__(self, a, b):
                self.a = a
                self.b = b
        def stores(objs, n):
            for i in range(n):
                o = objs[i % len(objs)]
                o.a = i
                o.b = Noisy(i) if i % 5 == 0 else i * 2
                if i == 6:
                    o.c = "new"
            return [(o.a, o.b if isinstance(o.b, int) else o.b.tag, sorted(vars(o))) for o in objs]
        objs = [A(1, 2), A(3, 4)]
        d = objs[0].__dict__
        vars(objs[1])
        try:
            import _testcapi
            watcher = _testcapi.add_dict_watcher(0)
            _testcapi.watch_dict(watcher, d)
        except (ImportError, AttributeError):
            _testcapi = None
        def shown(d):
            return {k: v if isinstance(v, (int, str)) else v.tag for k, v in d.items()}
        for k in range(4):
            print(stores(objs, 12), shown(d))
        if _testcapi is not None:
            events = _testcapi.get_dict_watcher_events()
            print(len(events), events[:4])
            _testcapi.unwatch_dict(watcher, d)
            _testcapi.clear_dict_watcher(watcher)
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("stores")
