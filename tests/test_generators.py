"""Generators, coroutines and async generators: compiled code runs each
resumption up to the next yield; `send`, `throw` and `close` reach the
compiled frame; the suspended frame stays inspectable.
"""

import pytest


def test_generators_send_throw_close(jit):
    r = jit(
        """
        import sys
        def counter(n):
            total = 0
            for i in range(n):
                got = yield i * 2
                if got is not None:
                    total += got
            return total
        def drive(n):
            out = list(counter(n))
            g = counter(5)
            out.append(next(g))
            out.append(g.send(10))
            out.append(g.send(20))
            try:
                while True:
                    out.append(next(g))
            except StopIteration as e:
                out.append(("returned", e.value))
            g = counter(9)
            next(g)
            try:
                g.throw(ValueError("boom"))
            except ValueError as e:
                out.append(("thrown", str(e), g.gi_frame))
            g = counter(9)
            next(g)
            out.append((g.gi_frame.f_lineno, sorted(g.gi_frame.f_locals)))
            g.close()
            out.append(g.gi_frame)
            return out
        for k in range(5):
            print(drive(4))
        """
    )
    r.assert_compiled("counter", "drive")
    assert "_YIELD_VALUE" in r.uops("counter")


def test_exceptions_inside_generators(jit):
    r = jit(
        """
        import traceback, sys
        def guarded():
            try:
                yield 1
                yield 2
            except KeyError as e:
                yield ("caught", e.args)
            finally:
                print("finally runs")
        def stops():
            yield 1
            raise StopIteration   # PEP 479: becomes RuntimeError
        def late():
            yield 1
            return [][3]
        for k in range(4):
            g = guarded()
            print(next(g), g.throw(KeyError(k)))
            g.close()
            try:
                list(stops())
            except RuntimeError as e:
                print("RuntimeError", e, type(e.__cause__).__name__)
        try:
            list(late())
        except IndexError:
            traceback.print_exc(file=sys.stdout)
        """
    )
    r.assert_compiled("guarded")


def test_yield_from_and_generator_expressions(jit):
    r = jit(
        """
        def inner(n):
            for i in range(n):
                x = yield i
                if x:
                    print("inner got", x)
            return n * 10
        def outer(n):
            r = yield from inner(n)
            yield ("inner returned", r)
            yield from [7, 8]
        def tree(d):
            if d:
                yield from tree(d - 1)
                yield d
                yield from tree(d - 1)
        for k in range(4):
            g = outer(3)
            print(next(g), g.send("hello"), list(g))
            print(sum(x * x for x in range(100)), list(tree(3)))
            g = outer(5)
            next(g)
            try:
                g.throw(ValueError("into inner"))
            except ValueError as e:
                print("propagated", e)
        """
    )
    r.assert_compiled("inner", "outer", "tree")
    assert "_SEND" in r.uops("outer")


def test_coroutines_and_async_generators(jit):
    r = jit(
        """
        import asyncio
        async def double(n):
            await asyncio.sleep(0)
            return n * 2
        async def ticks(n):
            for i in range(n):
                await asyncio.sleep(0)
                yield i
        class Resource:
            def __init__(self, log):
                self.log = log
            async def __aenter__(self):
                self.log.append("enter")
                return self
            async def __aexit__(self, *exc):
                self.log.append(("exit", exc[0] and exc[0].__name__))
                return False
        async def main():
            log = []
            out = [await double(i) for i in range(3)]
            out.append([x async for x in ticks(4)])
            async with Resource(log):
                out.append(await asyncio.gather(double(1), double(2)))
            try:
                async with Resource(log):
                    raise KeyError("inside")
            except KeyError:
                pass
            try:
                async for x in ticks(5):
                    if x == 2:
                        raise RuntimeError("stop at 2")
            except RuntimeError as e:
                out.append(str(e))
            return out, log
        for k in range(4):
            print(asyncio.run(main()))
        """
    )
    r.assert_compiled("double", "ticks", "main")
    assert {"_GET_AWAITABLE", "_SEND", "_YIELD_VALUE"} <= set(r.uops("double"))


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_async_for_resumes_async_generators_directly(jit, chaos):
    # `async for` (and `await agen.asend(v)`) in compiled code resumes the
    # async generator's compiled frame directly instead of through its
    # `asend` awaitable's C code: its yields finish the awaitable with the
    # value, its return raises StopAsyncIteration, its exceptions propagate,
    # and what an `await` inside it yields passes on up, with the awaitable's
    # and the generator's state (reuse, already running, a value sent to a
    # just-started generator, aclose/athrow, `ag_running`) as without
    # jitsaw. The first awaitable met is inside asyncio's loop, whose
    # firstiter hook must see only the program's own generators.
    r = jit(
        """
        import asyncio, sys, traceback
        SEEN = []
        class Tree:
            def __init__(self, left, value, right):
                self.left, self.value, self.right = left, value, right
            async def __aiter__(self):
                if self.left:
                    async for i in self.left:
                        yield i
                yield self.value
                if self.right:
                    async for i in self.right:
                        yield i
        def tree(values):
            if not values:
                return None
            i = len(values) // 2
            return Tree(tree(values[:i]), values[i], tree(values[i + 1:]))
        async def walk(t):
            return [v async for v in t]
        def run(coro):
            try:
                coro.send(None)
            except StopIteration as e:
                return e.value
            raise AssertionError("suspended")
        async def ticker(n):
            for i in range(n):
                await asyncio.sleep(0)
                yield i * i
        async def ticks():
            total = 0
            async for v in ticker(30):
                total += v
            async def nested():
                async for v in ticker(5):
                    yield v + 1
            return total, [v async for v in nested()]
        def firstiter(g):
            SEEN.append(g.__qualname__)
        async def hooked():
            old = sys.get_asyncgen_hooks()
            sys.set_asyncgen_hooks(firstiter=firstiter)
            try:
                return await ticks(), await walk(tree(range(7)))
            finally:
                sys.set_asyncgen_hooks(*old)
        for _ in range(3):
            print(asyncio.run(hooked()), SEEN)
        for _ in range(3):
            assert run(walk(tree(range(300)))) == list(range(300))
        async def boom(n):
            for i in range(n):
                yield i
            raise ValueError("boom %d" % n)
        async def stopper():
            yield 1
            raise StopIteration(5)
        async def explicit():
            yield 1
            raise StopAsyncIteration
        async def catches(agen):
            got = []
            try:
                async for v in agen:
                    got.append(v)
            except (ValueError, RuntimeError) as e:
                got.append((repr(e), repr(e.__cause__)))
                got.append([f.name for f in traceback.extract_tb(e.__traceback__)])
            got.append(agen.ag_running)
            return got
        for _ in range(3):
            print(run(catches(boom(3))), run(catches(stopper())), run(catches(explicit())))
        async def echo():
            v = None
            while True:
                v = yield v
                if v == "stop":
                    return
        async def driver():
            out = []
            g = echo()
            out.append(await g.asend(None))
            for k in range(5):
                out.append(await g.asend(k))
            a = g.asend("x")
            out.append(await a)
            for awaitable in (a, g.asend("stop"), g.asend(1), echo().asend(5)):
                try:
                    out.append(await awaitable)
                except (RuntimeError, StopAsyncIteration, TypeError) as e:
                    out.append(repr(e))
            out.append(g.ag_running)
            return out
        async def reenters():
            async def inner():
                yield 1
                try:
                    await me.__anext__()
                except RuntimeError as e:
                    yield repr(e)
            me = inner()
            return [v async for v in me]
        async def cleanup():
            log = []
            async def fin():
                try:
                    for i in range(10):
                        yield i
                finally:
                    log.append("finally")
            g = fin()
            async for v in g:
                if v == 3:
                    break
            await g.aclose()
            g = fin()
            async for v in g:
                if v == 2:
                    try:
                        await g.athrow(KeyError("k"))
                    except KeyError as e:
                        log.append(repr(e))
                    break
            log.append(g.ag_running)
            return log
        async def many(n):
            for i in range(n):
                yield i
        async def loops():
            out = []
            try:
                raise KeyError("outer")
            except KeyError:
                async for v in many(3):
                    out.append(v)
                else:
                    out.append(("else", sys.exc_info()[0].__name__))
                out.append(repr(sys.exc_info()[1].__context__))
            async for v in many(0):
                out.append(v)
            else:
                out.append("empty")
            async for v in many(5):
                if v == 2:
                    break
            out.append(sys.exc_info())
            return out
        for _ in range(3):
            print(run(driver()), run(reenters()), run(cleanup()), run(loops()))
        # The eval breaker inside a generator resumed directly: a signal
        # handler's exception leaves it through the `async for`.
        import signal
        class Stop(Exception):
            pass
        def handler(signum, frame):
            raise Stop(frame.f_code.co_name, frame.f_lineno)
        signal.signal(signal.SIGALRM, handler)
        async def spins():
            yield "started"
            n = 0
            while True:
                n += 1
        async def interrupted():
            g = spins()
            out = []
            try:
                async for v in g:
                    out.append(v)
                    signal.setitimer(signal.ITIMER_REAL, 0.05)
            except Stop as e:
                out.append((e.args, e.__traceback__.tb_next.tb_frame.f_code.co_name))
            out.append(g.ag_running)
            out.append([v async for v in g])
            return out
        for _ in range(5):
            print(run(interrupted()))
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100
    else:
        r.assert_compiled("Tree.__aiter__", "walk", "catches", "driver")
        # Each of the 300 values of a walk passes through ~8 levels, each
        # resumed directly (the first walk alone resumes ~2100; later ones
        # may wait for a recompilation's rent, which is timed).
        assert r.stats["resumed_directly"] > 300 * 5
        # The walks' ~900 loop ends skip the StopAsyncIteration their
        # END_ASYNC_FOR would catch at once (`await g.asend("stop")`
        # still raises it).
        raises = r.stats["exits"].items()
        assert sum(n for k, n in raises if k.startswith(("raise:_SEND", "raise:_ASYNC"))) < 100


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_compiled_loops_resume_generators_directly(jit, chaos):
    # `for` over a generator and `yield from`/`await` in compiled code resume
    # the generator's compiled frame directly, as the interpreter's
    # FOR_ITER_GEN and SEND_GEN do: values, returns, exceptions, frames,
    # exception state, early exits and the recursion limit as without jitsaw.
    # With JITSAW_CHAOS, compiled code also deopts at random points, inside
    # generators resumed directly too, which the interpreter then finishes.
    r = jit(
        """
        import asyncio, sys, traceback
        def tree(n):
            if n:
                yield from tree(n - 1)
                yield n
                yield from tree(n - 1)
        def countdown(n):
            while n:
                got = yield n
                if got:
                    n -= got
                n -= 1
            return "done"
        def fails(n):
            for i in range(n):
                yield i
            raise KeyError(n)
        def handled():
            try:
                yield 1
                raise ValueError("x")
            except ValueError:
                yield sys.exc_info()[0].__name__
            yield sys.exc_info()[0]
        def frames():
            yield sys._getframe(1).f_code.co_name
            yield sys._getframe().f_back.f_code.co_name
        def wrap():
            result = yield from countdown(5)
            yield result
        def run(k):
            out = []
            for j in range(k):
                out.append(sum(v for v in tree(5)))
                total = 0
                for v in tree(6):
                    total += v
                out.append(total)
                out.append(list(wrap()))
                try:
                    for v in fails(3):
                        out.append(v)
                except KeyError:
                    out.append(traceback.format_exc().splitlines()[-3:])
                try:
                    raise IndexError
                except IndexError:
                    out.append(list(handled()))
                    out.append(sys.exc_info()[0])
                for name in frames():
                    out.append(name)
                for v in countdown(100):
                    if v < 95:
                        break
                out.append(v)
            return out
        for i in range(6):
            print(run(3))
        async def fib(n):
            if n < 2:
                return n
            return await fib(n - 1) + await fib(n - 2)
        async def raiser(n):
            if n == 0:
                raise ValueError("deep")
            return await raiser(n - 1)
        async def main():
            result = [await fib(12)]
            try:
                await raiser(5)
            except ValueError:
                result.append(traceback.format_exc().count("raiser"))
            return result
        for i in range(5):
            print(asyncio.run(main()))
        def deep(n):
            if n:
                yield from deep(n - 1)
            else:
                yield 0
        for i in range(5):
            print(list(deep(50)))
        try:
            for v in deep(5000):
                pass
        except RecursionError:
            print("RecursionError")
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 1000
        assert r.stats["resumed_directly"] > 100
    else:
        r.assert_compiled("run", "tree", "countdown")
        assert r.stats["resumed_directly"] > 1000


def test_generators_made_by_compiled_callers(jit):
    # A compiled caller makes generators, coroutines and async generators of
    # compiled code itself (RETURN_GENERATOR without the interpreter): they
    # must be indistinguishable from the interpreter's, before and after
    # they start, with coroutine origin tracking on or off.
    r = jit(
        """
        import asyncio, inspect, sys
        def gen(a, b=2):
            x = yield a
            yield (x, b)
        async def coro(n):
            return n * 2
        async def agen(n):
            for i in range(n):
                yield i
        def with_cell(n):
            def inner():
                return n
            yield inner()
        def make(i):
            g = gen(i)
            state = inspect.getgeneratorstate(g)
            info = (g.__name__, g.__qualname__, g.gi_frame.f_lineno, g.gi_running,
                    sorted(g.gi_frame.f_locals.items()))
            try:
                g.send(1)
            except TypeError as e:
                err = str(e)
            out = [state, info, err, next(g), g.send("sent"), inspect.getgeneratorstate(g)]
            c = coro(i)
            out.append((c.cr_origin, inspect.getcoroutinestate(c)))
            try:
                c.send(None)
            except StopIteration as e:
                out.append(e.value)
            a = agen(i)
            out.append((type(a).__name__, a.ag_running))
            out.append(list(with_cell(i)))
            return out
        async def collect(n):
            return [x async for x in agen(n)]
        for i in range(6):
            print(make(i))
        sys.set_coroutine_origin_tracking_depth(3)
        print(make(7))
        sys.set_coroutine_origin_tracking_depth(0)
        print(asyncio.run(collect(4)))
        g = gen(5)
        del g
        """
    )
    r.assert_compiled("make", "gen")


def test_resume_sites_and_generator_calls_notice_changes(jit):
    # A site resuming generators directly remembers the code it resumed and
    # where its compiled code continues, and a call site remembers a
    # generator function it made generators of: code sharing one code object
    # with other globals, globals rebound while a generator is suspended, a
    # function's code replaced, tracing switched on, a coroutine awaited
    # twice, and a finished generator's weak reference callback must all
    # behave as without jitsaw.
    r = jit(
        """
        import sys, traceback, types, weakref
        LIMIT = 3
        def upto(n):
            for i in range(n):
                yield i * LIMIT
            yield from ("done", LIMIT)
        other = types.FunctionType(upto.__code__, {"LIMIT": 100, "range": range})
        def drive(makers, n):
            out = []
            for k in range(n):
                for make in makers:
                    out.append([v for v in make(4)])
                    total = 0
                    for v in make(3):
                        total = (total, v)
                    out.append(total)
            return out
        def delegate(make, n):
            got = yield from make(n)
            return got
        for i in range(4):
            print(drive([upto, other], 3))
            print(list(delegate(upto, 3)), list(delegate(other, 2)))
        def rebinding():
            global LIMIT
            out = []
            g = upto(6)
            for v in g:
                out.append(v)
                if v == 3:
                    LIMIT = 7
            LIMIT = 3
            return out
        for i in range(4):
            print(rebinding())
        def second(n):
            yield -n
        def plain(n):
            return [n]
        def calls(f, n):
            return [list(f(i)) for i in range(n)]
        for i in range(3):
            print(calls(upto, 3))
        saved = upto.__code__
        upto.__code__ = second.__code__
        print(calls(upto, 3))
        upto.__code__ = saved
        print(calls(upto, 3), calls(plain, 3))
        @types.coroutine
        def pause():
            yield "paused"
        async def inner():
            await pause()
            return 1
        async def outer(c):
            return await c
        def await_twice(n):
            out = []
            for i in range(n):
                c = inner()
                out.append(c.send(None))
                try:
                    outer(c).send(None)
                except RuntimeError as e:
                    out.append(str(e))
                c.close()
            return out
        for i in range(3):
            print(await_twice(3))
        def noted(ref):
            print("collected at line", traceback.extract_stack()[-2].lineno)
        def finish(n):
            refs = []
            for i in range(n):
                g = upto(1)
                refs.append(weakref.ref(g, noted))
                list(g)
                g = None
            return len(refs)
        for i in range(3):
            print(finish(2))
        def traced():
            # Last: the frame that switches tracing on finishes in the
            # interpreter with the hook lifted, and so does its caller.
            lines = []
            def tracer(frame, event, arg):
                if frame.f_code is upto.__code__:
                    lines.append((event, frame.f_lineno))
                return tracer
            sys.settrace(tracer)
            print(drive([upto], 1))
            sys.settrace(None)
            print(lines, drive([upto], 1))
        traced()
        """
    )
    r.assert_compiled("drive", "upto", "calls", "finish")
    assert r.stats["resumed_directly"] > 100


def test_generators_made_for_calls_from_c(jit):
    # A generator function called from C (iter() calling __iter__, map, a
    # slot) with compiled code gets its generator made by the frame
    # evaluator, as RETURN_GENERATOR makes it: states, frames, coroutine
    # origins, closures (cells first: the interpreter makes those) and the
    # recursion limit as without jitsaw.
    r = jit(
        """
        import inspect, sys
        class Tree:
            def __init__(self, n):
                self.n = n
            def __iter__(self):
                if self.n:
                    yield from Tree(self.n - 1)
                yield self.n
        def pairs(x, y=1):
            yield x
            yield y
        def closing(x):
            def inner():
                return x
            yield inner()
        async def coro(n):
            return n
        def drive(k):
            out = []
            for i in range(k):
                out.append(list(Tree(i % 4)))
                gens = list(map(pairs, range(3)))
                out.append([inspect.getgeneratorstate(g) for g in gens])
                out.append([list(g) for g in gens])
                out.append([list(g) for g in map(closing, "ab")])
                c = next(map(coro, [i]))
                out.append((c.cr_origin, inspect.getcoroutinestate(c)))
                c.close()
            return out
        for i in range(4):
            print(drive(6))
        sys.set_coroutine_origin_tracking_depth(2)
        print(drive(1))
        sys.set_coroutine_origin_tracking_depth(0)
        def deep(n):
            return deep(n - 1) if n else list(map(pairs, [n]))
        try:
            deep(100000)
        except RecursionError:
            print("RecursionError")
        """
    )
    r.assert_compiled("drive", "Tree.__iter__", "pairs")


def test_iter_of_objects_whose_iter_method_is_a_generator_function(jit):
    # `for` and `yield from` over an object whose class defines `__iter__`
    # as a generator function get the generator without the call through
    # `slot_tp_iter`: the same generator (state, frame, exceptions and
    # tracebacks from its body), the class's current `__iter__` found on the
    # type each time (rebound, deleted, set to None, inherited, a method
    # that is not a generator function or takes more arguments, an instance
    # attribute that iter() ignores), and the recursion limit as without
    # jitsaw.
    r = jit(
        """
        import inspect, sys, traceback
        class Bag:
            def __init__(self, items):
                self.items = items
            def __iter__(self):
                for x in self.items:
                    if x == "boom":
                        raise KeyError(x)
                    yield x
        class Sub(Bag):
            pass
        class Nested(Bag):
            def __iter__(self):
                for x in self.items:
                    yield from Bag([x, x])
        def listed(obj):
            out = []
            for x in obj:
                out.append(x)
            return out
        def delegated(obj):
            got = yield from obj
            return got
        def first(obj):
            for x in obj:
                return x
        def describe(obj):
            it = iter(obj)
            return (type(it).__name__, inspect.getgeneratorstate(it), it.gi_code.co_qualname,
                    it.gi_frame.f_lineno, it.gi_frame.f_back, next(it),
                    sorted(it.gi_frame.f_locals))
        def attempt(fn, *args):
            try:
                return fn(*args)
            except Exception as e:
                return (type(e).__name__, str(e),
                        [(f.name, f.line) for f in traceback.extract_tb(e.__traceback__)])
        def drive(k):
            out = []
            for i in range(k):
                items = list(range(i % 4))
                out.append(listed(Bag(items)))
                out.append(listed(Sub(items + ["s"])))
                out.append(listed(Nested(items)))
                out.append(list(delegated(Bag(items))))
                out.append(first(Bag(["a", "b"])))
                out.append(attempt(listed, Bag([1, "boom", 2])))
                out.append(attempt(lambda: list(delegated(Sub(["boom"])))))
            out.append(describe(Bag([7])))
            return out
        for i in range(6):
            print(drive(5))
        bag = Bag([1, 2])
        bag.__iter__ = lambda: iter("instance")
        print(listed(bag), list(delegated(bag)))
        def plain_iter(self):
            return iter(["plain", self.items])
        def with_default(self, extra="d"):
            yield extra
        def not_iterator(self):
            return 42
        async def coroutine(self):
            return "coroutine"
        async def async_generator(self):
            yield "async generator"
        def restored(self):
            yield "restored"
        for replacement in (plain_iter, with_default, not_iterator, coroutine,
                            async_generator, None, restored):
            Bag.__iter__ = replacement
            print(attempt(listed, Bag([3])), attempt(listed, Sub([4])),
                  attempt(lambda: list(delegated(Bag([5])))))
        del Bag.__iter__
        print(attempt(listed, Sub([6])), attempt(listed, Nested([1])))
        Bag.__iter__ = restored
        def deep(n):
            if n:
                return deep(n - 1)
            return listed(Bag([n]))
        try:
            deep(100000)
        except RecursionError:
            print("RecursionError")
        """
    )
    r.assert_compiled("listed", "delegated", "Bag.__iter__")
    assert r.stats["iter_generators"] > 50, r.stats["iter_generators"]


def test_generators_resumed_from_c_notice_changes(jit):
    # A resumption from C (`list`, `next`, `tuple` of a generator
    # expression) goes the way the last one of its code went while nothing
    # it relied on changed: generators of one code object with other
    # globals resumed in turn, globals rebound while one is suspended, its
    # code recompiled meanwhile, tracing and `sys.monitoring` events for the
    # code switched on while it is suspended, and `throw()` must all behave
    # as without jitsaw.
    r = jit(
        """
        import sys, types
        SCALE = 2
        def scaled(n):
            for i in range(n):
                yield i * SCALE
        other = types.FunctionType(scaled.__code__, {"SCALE": -1, "range": range})
        def turns(n):
            a, b = scaled(n), other(n)
            return [(next(a), next(b)) for _ in range(n)]
        def total(xs):
            return sum(tuple(x * SCALE for x in xs))
        for i in range(6):
            print(turns(4), list(scaled(3)), list(other(3)), total(range(i)))
        def rebound():
            global SCALE
            g = scaled(4)
            out = [next(g)]
            SCALE = 5
            out += list(g)
            SCALE = 2
            return out
        print(rebound(), rebound())
        def shifting(n, t=0):
            for i in range(n):
                t = t + i
                yield t
        g = shifting(100)
        print(next(g), next(g))
        for i in range(50):
            next(g)
        # Floats after ints: the addition's guard fails until the code is
        # compiled again, while `g` is suspended in the old code.
        print([sum(shifting(5, 0.5)) for k in range(80)][-1])
        print(next(g), list(g)[-3:])
        def traced():
            lines = []
            def tracer(frame, event, arg):
                if frame.f_code is scaled.__code__:
                    lines.append((event, frame.f_lineno))
                return tracer
            g = scaled(3)
            first = next(g)
            sys.settrace(tracer)
            rest = list(g)
            sys.settrace(None)
            return first, rest, lines
        print(traced())
        mon = sys.monitoring
        seen = []
        mon.use_tool_id(3, "test")
        mon.register_callback(3, mon.events.LINE, lambda code, line: seen.append(line))
        g = scaled(3)
        next(g)
        mon.set_local_events(3, scaled.__code__, mon.events.LINE)
        print(list(g), seen)
        mon.set_local_events(3, scaled.__code__, 0)
        mon.free_tool_id(3)
        seen.clear()
        print(list(scaled(3)), seen)
        g = scaled(5)
        next(g)
        try:
            g.throw(KeyError("k"))
        except KeyError as e:
            print("thrown", e)
        print(list(g))
        """
    )
    r.assert_compiled("turns")
    # Its code is re-specialized while generators of it are suspended; a
    # generator's code is compiled again at a resumption only once its last
    # compilation is paid for (a time), so the run may end with that
    # recompilation pending.
    assert r.state("scaled")["status"] in ("compiled", "requicken")
    assert r.stats["frames_entered"] > 0


def test_a_long_lived_generator_is_compiled_again_after_its_code_respecializes(jit):
    # Compiled at its first call, from unspecialized bytecode, the generator
    # meets floats after ints; the interpreter re-specializes its code, and
    # a later resumption compiles it again (once the last compilation is
    # paid for), while the generator lives on.
    r = jit(
        """
        from jitsaw import _jitsaw
        def running(t):
            while True:
                x = yield t
                t = t * 0.5 + x
        g = running(0)
        next(g)
        out = [g.send(i) for i in range(200)]
        statuses = set()
        for i in range(2_000_000):
            out.append(g.send(i * 0.25))
            status = _jitsaw.code_state(running)["status"]
            statuses.add(status)
            if i > 1000 and status == "compiled":
                break
        print(len(out) > 1000, out[:5], out[1000])
        _record("final", _jitsaw.code_state(running)["status"])
        """
    )
    assert r.recorded["final"] == "compiled"
    assert r.stats["invalidations"]["respecialized"] >= 1


def test_a_generators_recompilations_for_new_specializations_are_spaced(jit):
    # Compiled at its first call, a generator's code meets the interpreter's
    # specializations one by one (here a branch not run before at each
    # call), and each recompiles all of it: the kth waits for 2^k calls
    # since the last (with an explicit threshold, as here, calls alone; the
    # default policy also takes a timed rent), so twelve calls compile it
    # again three times, not eight (the limit), while every value stays
    # right.
    ops = ["o.x + 1", "o.x * 2", "o.x - 3", "-o.x", "o.x // 2", "o.x % 5", "o.x << 1",
           "o.x >> 1", "o.x | 4", "o.x & 6", "o.x ^ 7", "o.x ** 2"]
    branches = "".join(
        f"                {'if' if k == 0 else 'elif'} k == {k}:\n                    yield {op}\n"
        for k, op in enumerate(ops)
    )
    r = jit(
        """
        from jitsaw import _jitsaw
        class A:
            def __init__(self, v):
                self.x = v
        def gen(k, o):
            for _ in range(3):
        """.rstrip(" ")
        + branches
        + """
        out = []
        for k in range(12):
            out.extend(gen(k, A(k + 1)))
        print(out)
        _record("recompiles", _jitsaw.code_state(gen)["recompiles"])
        """,
        env={"JITSAW_THRESHOLD": "0"},
    )
    assert 1 <= r.recorded["recompiles"] <= 4, r.recorded


def test_yields_and_resumptions_pass_through_delegating_levels(jit):
    # A yield from the innermost generator of a `yield from`/`await` chain
    # goes straight to the first level that does more than pass it on, and a
    # resumption straight down to the innermost generator, every level in
    # between left exactly as its own code leaves it: its state, line,
    # `gi_yieldfrom`, frame chain, exception state and recursion depth, the
    # values sent and thrown, the returns, and the events of
    # `sys.monitoring` turned on in the middle of the chain.
    r = jit(
        """
        import asyncio, inspect, sys, traceback
        WATCH = []
        def describe():
            out = []
            for g in WATCH:
                f = g.gi_frame
                out.append((inspect.getgeneratorstate(g), g.gi_running,
                            f and f.f_lineno, f and f.f_lasti,
                            type(g.gi_yieldfrom).__name__))
            return out
        def leaf(log):
            got = yield "leaf0"
            log.append(("leaf got", got))
            f, chain = sys._getframe(), []
            while f is not None:
                chain.append((f.f_code.co_name, f.f_lineno))
                f = f.f_back
            log.append(chain[:8])
            log.append(describe())
            got = yield "leaf1"
            log.append(("leaf got", got, sys.exc_info()[0]))
            try:
                yield "leaf2"
            except KeyError as e:
                log.append(("leaf caught", e.args, sys.exc_info()[0]))
                got = yield "after throw"
            if got == "fail":
                raise ValueError("from the leaf")
            return ("leaf result", got)
        def middle(n, log):
            if n == 0:
                r = yield from leaf(log)
            else:
                r = yield from middle(n - 1, log)
            log.append(("middle", n, r))
            return r
        def levels(g):
            out = []
            while inspect.isgenerator(g):
                out.append(g)
                g = g.gi_yieldfrom
            return out
        def drive(depth, last):
            log = []
            g = middle(depth, log)
            WATCH[:] = []
            out = [next(g)]
            WATCH[:] = levels(g)
            out.append(g.send("s1"))
            out.append(describe())
            try:
                raise IndexError
            except IndexError:
                out.append(g.send("s2"))
            out.append(g.throw(KeyError("k")))
            out.append(describe())
            try:
                g.send(last)
            except StopIteration as e:
                out.append(("stop", e.value))
            except ValueError:
                out.append(traceback.format_exc().count("middle"))
            out.append(describe())
            out.append(log)
            return out
        def tree(n):
            if n:
                yield from tree(n - 1)
                yield n
                yield from tree(n - 1)
        def walk(k):
            total = 0
            for v in tree(k):
                total = total * 3 + v
            return total
        def guarded(n, log):
            try:
                if n:
                    yield from guarded(n - 1, log)
                else:
                    yield from range(3)
                    yield from leaf(log)
            finally:
                log.append(("finally", n, describe()))
        def abandon(depth, how):
            log = []
            g = guarded(depth, log)
            WATCH[:] = []
            out = [next(g), next(g), next(g), next(g)]
            WATCH[:] = levels(g)
            out.append(g.send("x"))
            out.append(describe())
            if how == "close":
                g.close()
            else:
                del g
            out.append(describe())
            out.append(log)
            return out
        for i in range(4):
            print(abandon(5, "close"), abandon(3, "drop"))
            print(drive(1, "end"))
            print(drive(6, "fail" if i % 2 else "end"))
            print(walk(9))
        class Ticket:
            def __await__(self):
                got = yield "tick"
                return got
        async def waits(n):
            if n:
                return await waits(n - 1) + 1
            return await Ticket()
        def step(depth):
            c = waits(depth)
            out = [c.send(None)]
            try:
                c.send(10)
            except StopIteration as e:
                out.append(e.value)
            return out
        async def sleeper(n):
            if n:
                return await sleeper(n - 1) + 1
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return 0
        async def main():
            return await asyncio.gather(*(sleeper(k) for k in range(8)))
        for i in range(4):
            print(step(1), step(7))
            print(asyncio.run(main()))
        events = []
        def on_yield(code, offset, value):
            events.append(("yield", code.co_name, offset, value))
        def on_resume(code, offset):
            events.append(("resume", code.co_name, offset))
        def monitored(n):
            if n:
                x = yield from monitored(n - 1)
                return x
            yield 1
            M = sys.monitoring
            M.use_tool_id(3, "test")
            M.register_callback(3, M.events.PY_YIELD, on_yield)
            M.register_callback(3, M.events.PY_RESUME, on_resume)
            M.set_events(3, M.events.PY_YIELD | M.events.PY_RESUME)
            yield 2
            yield 3
            M.set_events(3, 0)
            M.free_tool_id(3)
            yield 4
            return 5
        def mleaf():
            yield 1
            M = sys.monitoring
            M.use_tool_id(4, "local")
            M.register_callback(4, M.events.PY_YIELD, on_yield)
            M.register_callback(4, M.events.PY_RESUME, on_resume)
            M.set_local_events(4, mmiddle.__code__, M.events.PY_YIELD | M.events.PY_RESUME)
            yield 2
            yield 3
            M.set_local_events(4, mmiddle.__code__, 0)
            M.free_tool_id(4)
            yield 4
            return 5
        def mmiddle(n):
            if n:
                return (yield from mmiddle(n - 1))
            return (yield from mleaf())
        for i in range(3):
            for v in mmiddle(4):
                pass
        for i in range(3):
            for v in monitored(4):
                pass
        print(events)
        """
    )
    r.assert_compiled("middle", "walk", "tree", "waits", "sleeper")
    assert r.stats["yields_passed_through"] > 1000
    assert r.stats["sends_passed_through"] > 1000


@pytest.mark.parametrize("chaos", [None, "7"], ids=["steady", "chaos"])
def test_builtins_consume_generator_expressions_directly(jit, chaos):
    # `list(...)`, `tuple(...)`, `set(...)`, `sorted(...)`, `any(...)`,
    # `all(...)`, `min(...)`, `max(...)` and `sep.join(...)` of a generator
    # expression in compiled code resume the generator directly, value
    # after value (`_CONSUME_GENEXPR`): the values, the order of what the
    # generator, a set's hashing, comparisons and truth tests print, where
    # `any` and `all` stop, errors from any of them (the
    # generator is closed as the C loop leaves it), tracebacks, the frames
    # the generator sees, what is freed when, and the recursion limit, as
    # without jitsaw. A shadowed builtin, a subclass or a `str` subclass's
    # `join` takes the call as it is. With
    # JITSAW_CHAOS, the generator's compiled code also deopts at random
    # points and the interpreter hands its values back.
    r = jit(
        """
        import sys, traceback
        class Key:
            def __init__(self, k):
                self.k = k
            def __hash__(self):
                print("hash", self.k)
                return hash(self.k % 3)
            def __eq__(self, other):
                print("eq", self.k, other.k)
                return self.k % 3 == other.k % 3
        class Noisy:
            def __init__(self, name):
                self.name = name
            def __repr__(self):
                return self.name
            def __del__(self):
                print("del", self.name)
        def closing(n):
            try:
                for i in range(n):
                    yield i
            finally:
                print("closed", n)
        def shapes(xs, n):
            a = tuple(x * 2 for x in xs)
            b = list(x for x in xs if x % 2)
            c = set(x % n for x in xs)
            d = tuple(tuple(j for j in range(i)) for i in range(n))
            e = list(sys._getframe(1).f_code.co_name + str(sys._getframe(1).f_lineno) for _ in range(2))
            return a, b, sorted(c), d, e
        def loud(n):
            return list(print("make", i) or i for i in range(n))
        def keys(n):
            return len(set(Key(i) for i in range(n)))
        def freed(n):
            t = tuple(Noisy("t%d" % i) for i in range(n))
            l = list(Noisy("l%d" % i) for i in range(n))
            print("built", t, l)
            del t
            print("after t")
            return len(l)
        def failing(n):
            return tuple(1 // (i - n) for i in range(n + 2))
        def unhashable(n):
            return set([i] if i == n else i for i in closing(n + 2))
        def stops(n):
            def inner():
                raise StopIteration
                yield
            return list(next(inner()) for i in range(n))
        class T(tuple):
            pass
        def subclass(xs):
            return T(x for x in xs)
        def tests(n):
            # `any` stops at the first true value and `all` at the first
            # false one, leaving the generator unfinished (closed when freed).
            a = any(print("any", i) or i > n for i in closing(5))
            b = all(print("all", i) or i < n for i in closing(5))
            c = any(x for x in ()), all(x for x in ())
            d = any(Key(i) == Key(n) for i in range(3))
            return a, b, c, d
        class Falsy:
            def __bool__(self):
                raise ValueError("no truth")
        def truthless(n):
            return any(Falsy() if i == n else 0 for i in range(n + 1))
        class S(str):
            pass
        def joins(n, sep):
            a = sep.join(str(i) for i in range(n))
            b = "".join(c for c in "abc" if c != "b")
            return a, b
        def bad_join(n):
            return ", ".join(str(i) if i != n else i for i in range(n + 1))
        class Ord:
            def __init__(self, v):
                self.v = v
            def __repr__(self):
                return "O%d" % self.v
            def __lt__(self, other):
                print("lt", self.v, other.v)
                return self.v < other.v
            def __gt__(self, other):
                print("gt", self.v, other.v)
                return self.v > other.v
        def extremes(n):
            # Each value compared with the one kept so far, in order; ties
            # keep the first; `sorted` sorts the list the values made.
            a = min(Ord(i * 7 % 5) for i in range(n + 1))
            b = max(Ord(i * 3 % 4) for i in range(n + 1))
            c = sorted(Ord(i * 7 % 5) for i in range(n))
            d = min(x for x in (2, 1, 1.0, True)), max(x for x in (1, 1.0, True))
            return a, b, c, d
        def empty_min(n):
            return min(i for i in range(n) if i > n)
        def unorderable(n):
            return max(i if i != n else "s" for i in range(n + 1)), sorted(i if i else "s" for i in range(n))
        def deep(n):
            return tuple(deep(n - 1) for _ in range(1)) if n else ()
        for i in range(40):
            print(shapes(range(i % 7), 3), loud(i % 3), keys(i % 5))
            print(freed(i % 3), subclass(range(i % 4)))
            print(tests(i % 6), joins(i % 5, "-"), joins(2, S("+")), extremes(i % 4))
            for f in (failing, unhashable, stops, truthless, bad_join, empty_min, unorderable):
                try:
                    print(f(i % 4))
                except (ZeroDivisionError, TypeError, RuntimeError, ValueError) as e:
                    print(type(e).__name__, e, traceback.format_exc().splitlines()[-4:])
        # Its own globals, where `tuple` and `any` are then shadowed.
        ns = {}
        exec(compile(
            "def shadowed(xs): return tuple(x for x in xs), any(x for x in xs), set(x for x in xs)",
            "shadowed", "exec"), ns)
        for i in range(3):
            print(ns["shadowed"](range(3)))
        ns["tuple"] = lambda g: ("shadow", *g)
        ns["any"] = all
        print(ns["shadowed"](range(3)))
        print(deep(50) == deep(50))
        try:
            deep(5000)
        except RecursionError as e:
            print("RecursionError", len(traceback.extract_tb(e.__traceback__)))
        """,
        env={"JITSAW_CHAOS": chaos} if chaos else None,
    )
    if chaos:
        assert r.stats["deopts"] > 100
    else:
        for name in (
            "keys", "freed", "failing", "unhashable", "deep", "tests", "truthless", "joins", "bad_join",
            "extremes", "empty_min", "unorderable",
        ):
            assert "_CONSUME_GENEXPR" in r.uops(name), name
        assert "_CONSUME_GENEXPR" not in r.uops("subclass")
        assert r.stats["resumed_directly"] > 1000
