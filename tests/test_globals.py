"""Globals and builtins burned into compiled code as constants
(`optimize::globals`, `runtime::watch`): every way a name can change under
code that burned it in must be seen, by later calls and by frames running
the code at that moment, differential against the interpreter."""


def global_loads(report, name):
    """The micro-ops reading globals at run time in `name`'s code, and
    whether any global is burned in (its entry guard)."""
    uops = report.uops(name)
    return [u for u in uops if u.startswith("_LOAD_GLOBAL")], "_CHECK_GLOBALS" in uops


def test_rebinding_a_global_or_builtin_is_seen_by_later_calls(jit):
    r = jit(
        """
        import builtins, sys
        SCALE = 3
        NAMES = ("a", "b")
        def uses(n):
            t = 0
            for i in range(n):
                t += SCALE * len(NAMES) + abs(-i)
            return t
        def show(tag):
            try:
                print(tag, uses(50))
            except Exception as e:
                print(tag, type(e).__name__, e)
        show("start")
        SCALE = 4;                                  show("store")
        globals()["SCALE"] = 5;                     show("globals()")
        sys.modules[__name__].NAMES = (1, 2, 3);    show("module attribute")
        exec("SCALE = 6", globals());               show("exec")
        globals().update(SCALE=7);                  show("update")
        globals().pop("SCALE");                     show("pop")
        globals().setdefault("SCALE", 8);           show("setdefault")
        len = lambda s: 100;                        show("global shadows builtin")
        del len;                                    show("shadow removed")
        builtins.abs = lambda v: 1;                 show("builtin replaced")
        del builtins.abs;                           show("builtin deleted")
        """
    )
    r.assert_compiled("uses")
    assert r.stats["invalidations"]["burned-in global changed"] > 0


def test_running_frames_see_changes_at_their_next_load(jit):
    # The change happens while the frame runs: in a callee, in a __del__
    # run by a plain store (no call in the compiled code around it), and
    # between a generator's yields.
    r = jit(
        """
        VAL = "v0"
        class Rebinds:
            def __init__(self, to):
                self.to = to
            def __del__(self):
                global VAL
                VAL = self.to
        def rebind(to):
            global VAL
            VAL = to
        def by_callee():
            out = [VAL]
            rebind("callee")
            out.append(VAL)
            return out
        def by_del(n):
            out = []
            for i in range(n):
                x = Rebinds(f"del{i}")
                out.append(VAL)
                x = None
                out.append(VAL)
            return out
        def gen():
            for _ in range(3):
                yield VAL
        for k in range(4):
            print(by_callee(), by_del(3))
            VAL = f"round{k}"
        g = gen()
        print(next(g)); VAL = "between yields"; print(next(g)); print(next(g))
        """
    )
    r.assert_compiled("by_callee", "by_del")


def test_code_shared_by_functions_of_different_namespaces(jit):
    # One code object, several globals dicts (and builtins dicts): each
    # function sees its own names, called directly, from compiled code, or
    # resumed as a generator.
    jit(
        """
        import types
        K = "main"
        def read():
            return (K, len("abc"))
        def agen():
            while True:
                yield (K, len("abc"))
        def caller(f, n):
            return [f() for _ in range(n)]
        other = {"K": "other", "__builtins__": __builtins__}
        fake = {"K": "fake", "__builtins__": {"len": lambda s: -1}}
        reads = [read] + [types.FunctionType(read.__code__, g) for g in (other, fake)]
        gens = [agen()] + [types.FunctionType(agen.__code__, g)() for g in (other, fake)]
        for round_ in range(30):
            print([f() for f in reads], [next(g) for g in gens], caller(reads[round_ % 3], 2))
        """
    )


def test_names_that_keep_changing_stop_being_burned_in(jit):
    r = jit(
        """
        COUNT = 0
        def bump():
            global COUNT
            COUNT += 1
        def reader():
            return COUNT * 2
        total = 0
        for i in range(2000):
            bump()
            total += reader()
        print(total, COUNT)
        """
    )
    r.assert_compiled("reader")
    # Invalidated at most a few times, then loaded with guards.
    assert r.state("reader")["recompiles"] <= 3
    loads, burned = global_loads(r, "reader")
    assert "_LOAD_GLOBAL_MODULE" in loads and not burned


def test_a_name_stays_watched_for_other_code_when_code_goes(jit):
    # Code invalidated by a rebinding no longer depends on the name; when
    # its code object dies later, the code that burned the name in since
    # must still see the next rebinding.
    jit(
        """
        import gc
        COUNT = 0
        exec("def early():\\n    return COUNT\\n")
        for i in range(20):
            early()
        COUNT = 1
        def late():
            return COUNT + 1000
        for i in range(20):
            late()
        print(early(), late())
        del early
        gc.collect()
        COUNT = 2
        print(late())
        """
    )


def test_whole_dict_changes_invalidate(jit):
    # A key that is not a str (it could equal one), a cleared namespace,
    # and a globals dict freed and replaced while the code object lives.
    jit(
        """
        import types
        class Key:
            def __hash__(self):
                return hash("X")
            def __eq__(self, other):
                return other == "X"
        X = 1
        def get_x():
            return X
        for i in range(3):
            print(get_x())
        globals()[Key()] = 2
        print(get_x(), [k for k in globals() if not isinstance(k, str)])
        ns = {"X": "ns"}
        src = "def f():\\n    return X, len('ab')\\n"
        exec(src, ns)
        print([ns["f"]() for _ in range(3)])
        code = ns["f"].__code__
        ns.clear()
        try:
            print(types.FunctionType(code, ns)())
        except NameError as e:
            print("NameError", e)
        del ns
        for j in range(5):
            g = {"X": j, "__builtins__": __builtins__}
            f = types.FunctionType(code, g)
            print([f() for _ in range(3)])
            del g, f
        """
    )


def test_globals_are_burned_in(jit):
    r = jit(
        """
        LIMIT = 10
        def count(n):
            t = 0
            for i in range(n):
                t += min(i, LIMIT)
            return t
        print([count(n) for n in range(100, 600, 100)])
        """
    )
    r.assert_compiled("count")
    assert global_loads(r, "count") == ([], True)


def test_burned_in_global_loads_still_quicken_as_in_the_interpreter(jit):
    # A global load burned in as a constant still advances the instruction's
    # counter, so the interpreter specializes it after as many calls as
    # without jitsaw (CPython's test_opcache checks this after exactly two).
    r = jit(
        """
        import dis
        def adaptive(f):
            return sorted({i.opname for i in dis.get_instructions(f, adaptive=True)}
                          - {"RESUME", "RESUME_CHECK", "RETURN_VALUE"})
        for _ in range(3):
            items = [eval("lambda: x", {"x": None}) for _ in range(3)]
            for item in items:
                item.__code__ = item.__code__.replace()
            for call in range(3):
                for item in items:
                    item()
                print(call, [adaptive(item) for item in items])
        """
    )
    assert r.stats["functions_compiled"] > 0


def test_module_attributes_are_burned_in_and_every_change_is_seen(jit):
    # `m.name` after a burned-in module global is burned in too (with a
    # chain of modules, `os.path.join`), watched through the module's dict;
    # a module whose class changes (the dict does not) is checked at run
    # time. Changes come between calls and while frames run.
    r = jit(
        """
        import math, os, sys, types
        def uses(n):
            t = 0.0
            for i in range(n):
                t += math.sqrt(i) + math.pi
            return t
        def chained(n):
            out = []
            for i in range(n):
                out.append(os.path.join("a", str(i % 3)))
            return out[-2:]
        def method_form(n):
            return [math.floor(i / 2) for i in range(n)]
        def changes_midway(n):
            out = []
            for i in range(n):
                out.append(math.pi)
                if i == n // 2:
                    math.pi = "changed"
            return out[n // 2 - 1:n // 2 + 3]
        class Sqrt(types.ModuleType):
            def __getattribute__(self, name):
                if name == "sqrt":
                    return lambda x: -1.0
                return super().__getattribute__(name)
        def show(tag, f, *args):
            try:
                print(tag, f(*args))
            except Exception as e:
                print(tag, type(e).__name__, e)
        def everything(tag):
            show(tag, uses, 300)
            show(tag, chained, 5)
            show(tag, method_form, 5)
        for k in range(6):
            everything(f"start{k}")
        # First (names that keep changing stop being burned in).
        math.__class__ = Sqrt;                          everything("class changed")
        math.__class__ = types.ModuleType;              everything("class restored")
        pi = math.pi
        math.pi = 3;                                    everything("rebound")
        del math.pi;                                    everything("deleted")
        math.pi = pi;                                   everything("restored")
        math.__dict__["sqrt"] = lambda x: 2.0;          everything("dict store")
        del math.sqrt;                                  everything("sqrt deleted")
        import importlib; importlib.reload(math);       everything("reloaded")
        real_path = os.path
        os.path = types.SimpleNamespace(join=lambda *a: "fake");  everything("submodule replaced")
        os.path = real_path;                            everything("submodule restored")
        os.path.join = lambda *a: "joined";             everything("leaf replaced")
        real_math = sys.modules["math"]
        math = types.SimpleNamespace(sqrt=abs, pi=1, floor=int); everything("global rebound")
        math = real_math
        for k in range(3):
            show(f"midway{k}", changes_midway, 8)
            math.pi = pi
        """
    )
    assert r.stats["invalidations"]["burned-in global changed"] > 0


def test_module_attributes_are_burned_in(jit):
    r = jit(
        """
        import math, os.path
        class K:
            STEP = 2
        def uses(n):
            t = 0.0
            for i in range(n):
                t += math.sqrt(i) + math.pi + len(os.path.sep) + K.STEP
            return t
        print([uses(n) for n in range(100, 600, 100)])
        """
    )
    r.assert_compiled("uses")
    uops = r.uops("uses")
    # One check per module read from: math twice, os and os.path; and per
    # class. (The attribute loads stay, for the checks' fallbacks.)
    assert uops.count("_CHECK_CONST_MODULE") == 4, uops
    assert uops.count("_CHECK_CONST_TYPE_VERSION") == 1, uops


def test_class_attributes_are_burned_in_and_every_change_is_seen(jit):
    # `C.name` after a burned-in class global is burned in, checked by the
    # class's version (which every change to it or its bases moves on).
    r = jit(
        """
        import enum
        class Base:
            INHERITED = 10
        class C(Base):
            OWN = 1
            OTHER = "x"
        class Color(enum.Enum):
            RED = 1
        def uses(n):
            t = 0
            for i in range(n):
                t += C.OWN + C.INHERITED + len(C.OTHER)
            return t
        def midway(n):
            out = []
            for i in range(n):
                out.append(C.OWN)
                if i == n // 2:
                    C.OWN = -1
            return out
        def show(tag, f, *args):
            try:
                print(tag, f(*args))
            except Exception as e:
                print(tag, type(e).__name__, e)
        for k in range(6):
            show(f"start{k}", uses, 50)
        C.OWN = 2;                          show("rebound", uses, 50)
        Base.INHERITED = 20;                show("base changed", uses, 50)
        C.INHERITED = 30;                   show("shadowed", uses, 50)
        del C.INHERITED;                    show("unshadowed", uses, 50)
        del C.OWN;                          show("deleted", uses, 50)
        C.OWN = 3;                          show("restored", uses, 50)
        setattr(C, "OTHER", "xyz");         show("setattr", uses, 50)
        class D(Base):
            OWN = 100
            OTHER = ""
        C = D;                              show("global rebound", uses, 50)
        for k in range(4):
            show(f"midway{k}", midway, 6)
            C.OWN = 7
        def colors(n):
            return [Color.RED.value for _ in range(n)]
        for k in range(4):
            show(f"color{k}", colors, 3)
        """
    )
    # Changes to the class made the burned-in code's check fall back to
    # the generic global load (and the loads after it), not deopt.
    assert r.exits("generic:LOAD_GLOBAL")
    assert not r.exits("deopt:_CHECK_CONST")


def test_a_burned_class_attribute_sees_its_class_get_new_bases_mid_loop(jit):
    # `B.x` is burned in behind B's version, which a `__bases__` assignment
    # resets (here bringing in a class whose metaclass defines `mro()`, for
    # which CPython's `type_mro_modified` resets versions itself): the loop
    # reads the new base's attribute right after, and later calls too.
    r = jit(
        """
        import sys
        class Meta(type):
            def mro(cls):
                return type.mro(cls)
        class U(metaclass=Meta):
            x = "U.x"
        class A:
            x = "A.x"
        class B(A):
            pass
        def reads(n, switch):
            out = []
            for i in range(n):
                if i == switch:
                    B.__bases__ = (U, A)
                out.append(B.x)
            return out
        for k in range(5):
            print(reads(300, -1)[-1])
        if "jitsaw" in sys.modules and sys.modules["jitsaw"].is_enabled():
            _record("uops", sys.modules["jitsaw"]._jitsaw.code_state(reads)["uops"])
        got = reads(300, 150)
        print(got[149], got[150], got[-1])
        print(reads(10, -1))
        """
    )
    assert "_CHECK_CONST_TYPE_VERSION" in r.recorded["uops"], r.recorded
