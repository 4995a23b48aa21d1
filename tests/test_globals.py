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
