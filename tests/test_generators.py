"""Generators, coroutines and async generators: compiled code runs each
resumption up to the next yield; `send`, `throw` and `close` reach the
compiled frame; the suspended frame stays inspectable.
"""


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
