"""Exceptions handled inside compiled code (the exception table, `try`,
`except`, `except*`, `finally`, `with`), raising and re-raising, and the
other instruction families that are not plain expressions: pattern
matching, `super`, `f(*args, **kwargs)`, imports, module and class bodies.

Each test checks that the handlers really ran compiled: no exit of the kind
`unsupported:*` happened.
"""


def no_unsupported_exits(r):
    assert not r.exits("unsupported:"), r.exits("unsupported:")


def test_try_except_finally_in_a_loop(jit):
    r = jit(
        """
        import sys
        def f(n):
            out = []
            for i in range(n):
                try:
                    if i % 4 == 0:
                        raise ValueError(i)
                    elif i % 4 == 1:
                        {}[i]
                    elif i % 4 == 2:
                        out.append(sys.exc_info()[0])
                    out.append(i)
                except ValueError as e:
                    out.append(("V", e.args, sys.exc_info()[0].__name__))
                except (KeyError, IndexError) as e:
                    out.append(("K", type(e).__name__, repr(e.__context__)))
                else:
                    out.append("else")
                finally:
                    out.append("F")
            out.append(sys.exc_info())
            return out
        for k in range(4):
            print(f(9))
        """
    )
    r.assert_compiled("f")
    assert {"_PUSH_EXC_INFO", "_CHECK_EXC_MATCH", "_POP_EXCEPT", "_RERAISE"} <= set(r.uops("f"))
    no_unsupported_exits(r)


def test_raise_forms_and_their_errors(jit):
    r = jit(
        """
        class Odd(Exception):
            def __new__(cls, *a):
                return 5
        def raiser(kind):
            if kind == 0:
                raise ValueError
            if kind == 1:
                raise ValueError("msg") from KeyError("cause")
            if kind == 2:
                raise ValueError("msg") from None
            if kind == 3:
                raise 5
            if kind == 4:
                raise ValueError from 5
            if kind == 5:
                raise Odd
            if kind == 6:
                raise TypeError from KeyError
            raise
        for k in range(5):
            for kind in range(8):
                try:
                    raiser(kind)
                except BaseException as e:
                    print(kind, type(e).__name__, e, repr(e.__cause__), e.__suppress_context__)
        def reraise_active():
            try:
                1 / 0
            except ZeroDivisionError:
                raise
        for k in range(5):
            try:
                reraise_active()
            except ZeroDivisionError as e:
                tb = e.__traceback__
                lines = []
                while tb:
                    lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
                    tb = tb.tb_next
                print(lines)
        """
    )
    r.assert_compiled("raiser", "reraise_active")
    no_unsupported_exits(r)


def test_tracebacks_through_finally_and_with_are_identical(jit):
    r = jit(
        """
        import traceback, sys
        class CM:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False
        def inner(i):
            try:
                return [1][i]
            finally:
                i += 1
        def outer(i):
            with CM():
                x = inner(i)
            return x
        for k in range(4):
            try:
                outer(k % 2 + 1)
            except IndexError:
                traceback.print_exc(file=sys.stdout)
                f = sys.exc_info()[2].tb_next.tb_frame
                print(f.f_lineno, sys.exc_info()[2].tb_next.tb_next.tb_frame.f_lineno)
            print(outer(0))
        def unhandled():
            try:
                raise KeyError("k")
            finally:
                print("cleanup")
        unhandled()
        """,
        fails=True,
    )
    assert r.returncode != 0
    r.assert_compiled("inner", "outer")
    no_unsupported_exits(r)


def test_raises_through_long_exception_tables_find_their_handlers(jit):
    # A function whose exception table is long enough to be searched by
    # bisection (over 40 bytes: a dozen handlers, nested, with finally and
    # re-raises), raising at every region: each raise must land in the
    # handler covering it, with the same stack, lasti and traceback.
    r = jit(
        """
        import sys, traceback
        class E(Exception):
            pass
        def fail(kind, k):
            if kind == k:
                raise (KeyError, IndexError, TypeError, ValueError, E)[k % 5](k)
            return k
        def many(kind):
            out = []
            try:
                out.append(fail(kind, 0))
            except KeyError as e:
                out.append(("KeyError", e.args))
            try:
                out.append(fail(kind, 1))
            except IndexError:
                out.append("IndexError")
            for j in range(2):
                try:
                    try:
                        out.append(fail(kind, 2 + j))
                    except TypeError:
                        out.append(("TypeError", j))
                        raise
                    finally:
                        out.append(("finally", j))
                except (TypeError, ValueError) as e:
                    out.append(("outer", type(e).__name__))
            try:
                with open(__file__) as f:
                    out.append(fail(kind, 4))
            except E as e:
                out.append(("E", str(e), f.closed))
            try:
                out.append(fail(kind, 5))
            except KeyError:
                out.append("KeyError 5")
            else:
                out.append("else 5")
            try:
                try:
                    out.append(fail(kind, 6))
                finally:
                    out.append("inner finally")
            except IndexError:
                out.append("IndexError 6")
            try:
                out.append(fail(kind, 7))
            except* TypeError as g:
                out.append(("group", len(g.exceptions)))
            try:
                out.append(fail(kind, 8))
            except ValueError:
                out.append("ValueError 8")
            out.append(fail(kind, 9))
            return out
        print(len(many.__code__.co_exceptiontable))
        for rnd in range(3):
            for kind in range(-1, 11):
                try:
                    print(kind, many(kind))
                except Exception as e:
                    print(kind, "escaped", type(e).__name__, e)
                    traceback.print_exc(file=sys.stdout)
        """
    )
    r.assert_compiled("many", "fail")
    no_unsupported_exits(r)


def test_with_statements(jit):
    r = jit(
        """
        class CM:
            def __init__(self, log, swallow):
                self.log, self.swallow = log, swallow
            def __enter__(self):
                self.log.append("enter")
                return len(self.log)
            def __exit__(self, t, v, tb):
                self.log.append(("exit", t and t.__name__, str(v), tb is not None))
                return self.swallow
        class NoExit:
            def __enter__(self):
                return 1
        class BadEnter:
            def __enter__(self):
                raise OSError("enter failed")
            def __exit__(self, *a):
                pass
        # __enter__ is run directly when it is a plain function of the class:
        # not a staticmethod, a builtin, an instance attribute; the recursion
        # limit, an exit method missing, and __enter__ replaced on the class.
        class Static:
            __enter__ = staticmethod(lambda: "static")
            def __exit__(self, *a):
                pass
        class Builtin:
            __enter__ = object.__repr__
            def __exit__(self, *a):
                pass
        class Shadowed(CM):
            def __init__(self):
                CM.__init__(self, [], False)
                self.__enter__ = lambda: "instance attribute"
        class OnlyEnter:
            def __enter__(self):
                print("entered without __exit__")
        class Deep:
            def __enter__(self):
                with Deep():
                    pass
            def __exit__(self, *a):
                pass
        def use(n, swallow):
            log = []
            for i in range(n):
                with CM(log, swallow) as v, CM(log, False):
                    log.append(v)
                    if i == 1:
                        raise KeyError(i)
            return log
        for k in range(5):
            print(use(3, True))
            try:
                use(3, False)
            except KeyError as e:
                print("KeyError", e)
            for mgr in (NoExit(), 5, BadEnter(), Static(), Shadowed(), OnlyEnter(), Deep()):
                try:
                    with mgr as v:
                        print(type(mgr).__name__, v if type(v) is not Builtin else "builtin")
                except Exception as e:
                    print(type(e).__name__, e)
            try:
                with Builtin() as v:
                    print(v.startswith("<__main__.Builtin object"))
            except Exception as e:
                print(type(e).__name__, e)
            if k == 2:
                CM.__enter__ = lambda self: ("replaced", len(self.log))
        """
    )
    r.assert_compiled("use")
    assert {"_BEFORE_WITH", "_WITH_EXCEPT_START"} <= set(r.uops("use"))
    no_unsupported_exits(r)


def test_except_star(jit):
    r = jit(
        """
        def f(excs):
            seen = []
            try:
                raise ExceptionGroup("g", excs)
            except* ValueError as e:
                seen.append(("V", repr(e)))
            except* TypeError as e:
                seen.append(("T", repr(e)))
            return seen
        for k in range(5):
            print(f([ValueError(1), TypeError(2)]))
            print(f([ValueError(3)]))
            try:
                f([KeyError(4), ValueError(5)])
            except* KeyError as e:
                print("outer", repr(e))
            try:
                try:
                    raise ValueError(1)
                except* 5:
                    pass
            except TypeError as e:
                print(e)
        """
    )
    r.assert_compiled("f")
    assert "_CHECK_EG_MATCH" in r.uops("f")
    no_unsupported_exits(r)


def test_pattern_matching(jit):
    r = jit(
        """
        from dataclasses import dataclass
        @dataclass
        class P:
            x: int
            y: int
        def m(v):
            match v:
                case []:
                    return "empty"
                case [1, 2, *rest]:
                    return ("seq", rest)
                case {"a": a, **others}:
                    return ("map", a, others)
                case P(x=0, y=y):
                    return ("p0", y)
                case P(x, y):
                    return ("p", x, y)
                case complex(real=r):
                    return ("complex", r)
                case str() | bytes():
                    return "text"
                case _:
                    return "other"
        for k in range(4):
            print([m(v) for v in ([], [1, 2, 3, 4], {"a": 1, "b": 2}, P(0, 5), P(1, 2), 3 + 4j, "s", b"b", 7)])
        class Bad:
            __match_args__ = 5
        try:
            m(Bad())
            match Bad():
                case Bad(1):
                    pass
        except TypeError as e:
            print(e)
        """
    )
    r.assert_compiled("m")
    assert {"_MATCH_SEQUENCE", "_MATCH_MAPPING", "_MATCH_CLASS", "_MATCH_KEYS", "_GET_LEN"} <= set(r.uops("m"))
    no_unsupported_exits(r)


def test_super_calls(jit):
    r = jit(
        """
        class A:
            def f(self, x):
                return ("A", x)
            @property
            def p(self):
                return "Ap"
        class B(A):
            def f(self, x):
                return ("B",) + super().f(x)
            def g(self):
                return super().p, super().f
            def h(self):
                return super(B, self).f(1)
        for k in range(5):
            b = B()
            print(b.f(k), b.g()[0], b.g()[1](k), b.h())
        def not_a_method():
            super().f()
        try:
            not_a_method()
        except RuntimeError as e:
            print(e)
        """
    )
    r.assert_compiled("B.f", "B.g", "B.h")
    no_unsupported_exits(r)


def test_call_function_ex(jit):
    r = jit(
        """
        def target(a, b=2, *rest, c=3, **kw):
            return a, b, rest, c, sorted(kw.items())
        def call_all(n):
            out = []
            for i in range(n):
                out.append(target(*range(i + 1)))
                out.append(target(*[i], **{"c": i, "z": 1}))
                out.append(target(*(i, i), c=i))
                out.append(target(*iter([i])))
                out.append(len(*["abc"]))
                out.append(max(*[3, i], **{}))
            return out
        for k in range(4):
            print(call_all(3))
        def rec(n, *a):
            return n if n == 0 else rec(*(n - 1,) + a)
        print(rec(900))
        for bad in (5, None):
            try:
                target(*bad)
            except TypeError as e:
                print(e)
        try:
            target(*[], **{"c": 1})
        except TypeError as e:
            print(e)
        try:
            target(1, **{"a": 1})
        except TypeError as e:
            print(e)
        """
    )
    r.assert_compiled("call_all", "rec")
    assert "_CALL_FUNCTION_EX" in r.uops("call_all")
    no_unsupported_exits(r)


def test_imports_in_functions(jit):
    r = jit(
        """
        def imp(i):
            import os.path
            from os import path as p, sep
            from collections import OrderedDict
            import json as j
            return p is os.path, sep, OrderedDict.__name__, j.__name__
        for k in range(4):
            print(imp(k))
        def missing():
            from os import no_such_name
        def missing_module():
            import no_such_module_jitsaw
        for fn in (missing, missing_module):
            try:
                fn()
            except ImportError as e:
                print(type(e).__name__, e)
        """
    )
    r.assert_compiled("imp")
    assert {"_IMPORT_NAME", "_IMPORT_FROM"} <= set(r.uops("imp"))


def test_module_and_class_bodies(jit):
    r = jit(
        """
        x = 1
        y = x + 1
        del x
        try:
            x
        except NameError as e:
            print(e)
        class K:
            a: int = 1
            b = a + y
            def m(self):
                return self.b
            def __init__(self):
                return None
        print(K().m(), K.__annotations__, K.__qualname__)
        class Bad:
            def __init__(self):
                return 1
        try:
            Bad()
        except TypeError as e:
            print(e)
        def make():
            v = 10
            class Inner:
                w = v
                u = w + 1
                def get(self):
                    return v
            return Inner
        for i in range(5):
            I = make()
            print(I.w, I.u, I().get())
        ns = {}
        # A class body sees neither the exec's locals nor its own module's.
        try:
            exec("q = 1\\nr = q + len('ab')\\nclass C: z = r", {}, ns)
        except NameError as e:
            print(e)
        print(sorted(ns))
        """
    )
    r.assert_compiled("make")
    no_unsupported_exits(r)
