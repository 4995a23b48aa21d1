"""The ways out of compiled code, each forced by a test: deopt (a guard
fails: the interpreter resumes with the exact value stack), raise (the
exception is unwound through the exception table with the interpreter's
traceback), and the eval breaker (signals, other threads, tracing); plus
recursion limits and frame introspection from compiled code."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import DRIVER, base_env


def test_guard_failures_and_deopts_mid_expression_keep_the_value_stack(jit):
    r = jit(
        """
        import sys
        def f(a, b, c, d):
            return [a, (b, c + d, (a, b)), d]
        for i in range(5):
            print(f(1, 2, 3, 4))
        print(f("x", "y", 1.5, 2.5))   # the int guard on c + d fails
        print(f(None, [], [1], [2]))
        events = []
        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event))
            return tracer
        def switch_on(v):
            sys.settrace(tracer)
            return v
        def g(a, b):
            # Tracing starts inside the call: the interpreter resumes g after
            # it with the list's first items and the tuple on the stack.
            return [a, (b, switch_on(a) + b, (a, b)), b]
        for i in range(4):
            print(g(i, 2))
            sys.settrace(None)
        print(events)
        """
    )
    r.assert_compiled("f")
    assert r.state("g")["status"] in ("compiled", "provisional")
    assert r.exits("generic:BINARY_OP_ADD_INT")
    assert r.exits("deopt:_CHECK_VALIDITY")


def test_guard_failure_inside_a_loop_stays_in_compiled_code(jit):
    r = jit(
        """
        def total(xs):
            t = 0
            for x in xs:
                t = t + x
            return t
        for i in range(4):
            print(total([1, 2, 3]))
        print(total([1, 2, 3.5, 4]))
        print(total([1, 2, 3]))
        """
    )
    r.assert_compiled("total")
    assert r.exits("generic:BINARY_OP_ADD_INT")
    assert r.state("total")["deopts"] == 0


def test_sites_falling_back_at_most_calls_are_compiled_again(jit):
    # `f * s.x` specialized for ints, then met floats at most calls (never
    # all): the code is compiled again once its fallbacks pass one in four
    # calls, so they stop; the results are the interpreter's throughout.
    r = jit(
        """
        class V:
            def __init__(s, x):
                s.x = x
            def scale(s, f):
                return V(f * s.x)
        def run(n, f, x):
            v = V(x)
            out = 0
            for i in range(n):
                out += v.scale(f if i % 10 else 2).x
            return out
        print(run(50, 2, 3))
        for i in range(3):
            print(run(3000, 2.5, 1.5))
        """
    )
    r.assert_compiled("V.scale")
    assert r.state("V.scale")["recompiles"] >= 1
    # Without the recompilation, ~8 100 (9 in 10 of 9 000 calls).
    assert sum(r.exits("generic:BINARY_OP_MULTIPLY_").values()) < 2000


def test_alike_sites_falling_back_together_are_compiled_again(jit):
    # Sixteen unpackings specialized for tuples, then given lists at every
    # call: each has a sixteenth of the fallbacks, and all of them are
    # compiled again generic, so they stop.
    sites = "\n".join("    a, b = p" for _ in range(16))
    r = jit(
        f"""
def f(p):
{sites}
    return a + b
for i in range(50):
    f((1, i))
print(sum(f([i, 2]) for i in range(3000)))
"""
    )
    r.assert_compiled("f")
    assert r.state("f")["recompiles"] >= 1
    # Without the recompilation, 48 000 (16 a call).
    assert sum(r.exits("generic:UNPACK_SEQUENCE_").values()) < 5000


def test_loops_are_refused_by_the_size_of_their_code(jit):
    # A loop whose compiled turn would outgrow the caches (over
    # `codegen::MAX_LOOP_CODE` of hot code) is left to the interpreter; one
    # of some 2000 instructions but within it is compiled.
    def body(n):
        return "\n".join(
            f"        s = s + o.x{k % 8} * 2" if k % 2 else f"        o.x{k % 8} = o.x{(k + 1) % 8} + i"
            for k in range(n)
        )
    r = jit(
        f"""
class O:
    def __init__(self):
        for k in range(8):
            setattr(self, "x%d" % k, k)
def mid(n):
    o, s = O(), 0
    for i in range(n):
{body(300)}
    return s, vars(o)
def big(n):
    o, s = O(), 0
    for i in range(n):
{body(1200)}
    return s, vars(o)
for n in (1, 2, 3, 40):
    print(mid(n), big(n))
"""
    )
    r.assert_compiled("mid")
    assert r.state("big")["status"] == "never"
    assert any("KiB of code" in reason for reason in r.stats["refused"]), r.stats["refused"]


def test_raise_is_caught_by_a_handler_in_the_same_function(jit):
    r = jit(
        """
        import sys, traceback
        def f(d, k):
            try:
                return d[k]
            except KeyError as e:
                info = sys.exc_info()
                return "missing", repr(e), info[0].__name__, traceback.format_exc()
            finally:
                print("finally", k)
        for i in range(4):
            print(f({1: 2}, 1))
            print(f({}, i))
        """
    )
    r.assert_compiled("f")
    assert r.exits("raise:")


def test_uncaught_exception_traceback_through_compiled_frames(jit):
    r = jit(
        """
        def inner(x):
            return 10 // x
        def middle(x):
            y = [inner(x)]
            return y
        def outer(xs):
            return [middle(x) for x in xs]
        for i in range(4):
            print(outer([1, 2, 5]))
        outer([3, 0])
        """,
        fails=True,
        # Through the frames of compiled code, which inlining `inner` spares.
        env={"JITSAW_INLINE": "0"},
    )
    assert r.returncode == 1
    assert "ZeroDivisionError" in r.stderr and "~~~^^~~" in r.stderr
    r.assert_compiled("inner", "middle")


def test_exception_chaining_context_and_cause(jit):
    r = jit(
        """
        def g(x):
            try:
                return x.missing
            except AttributeError as e:
                raise ValueError("wrapped") from e
        def h(x):
            try:
                return 1 / x
            except ZeroDivisionError:
                return [][x]
        for i in range(4):
            for f, arg in ((g, 1), (h, 0)):
                try:
                    f(arg)
                except Exception as e:
                    print(type(e).__name__, e, repr(e.__cause__), repr(e.__context__), e.__suppress_context__)
        """
    )
    r.assert_compiled("g", "h")


def test_signal_handler_raises_inside_a_jitted_loop(jit):
    r = jit(
        """
        import signal
        class Stop(Exception):
            pass
        def handler(signum, frame):
            # The handler sees the loop's frame on the line it ran (the
            # back edge's check, which sets no instruction itself).
            raise Stop(frame.f_code.co_name, frame.f_lineno)
        signal.signal(signal.SIGALRM, handler)
        def spin():
            n = 0
            while True:
                n += 1
        for i in range(3):
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            try:
                spin()
            except Stop as e:
                print("stopped in", e, e.__traceback__.tb_next.tb_frame.f_code.co_name)
        """
    )
    r.assert_compiled("spin")


def test_signal_pending_when_a_call_returns_raises_at_the_call(jit):
    # A signal that arrives while a C function runs (`sum` over a range
    # checks for none) is handled when the call returns, by the check after
    # it (`_CHECK_PERIODIC`, whose handler call is the stencil's cold
    # part): the handler sees the call's line, and its exception leaves
    # the compiled function from there.
    r = jit(
        """
        import signal
        class Stop(Exception):
            pass
        def handler(signum, frame):
            raise Stop(frame.f_code.co_name, frame.f_lineno)
        signal.signal(signal.SIGALRM, handler)
        def work(n):
            total = sum(range(n))
            return total + 1
        for i in range(200):
            work(10)
        for i in range(3):
            signal.setitimer(signal.ITIMER_REAL, 0.005)
            try:
                while True:
                    work(2_000_000)
            except Stop as e:
                tb = e.__traceback__
                while tb.tb_next:
                    tb = tb.tb_next
                print("stopped in", e, tb.tb_frame.f_code.co_name, tb.tb_lineno)
        """
    )
    r.assert_compiled("work")


def test_ctrl_c_interrupts_a_jitted_while_true(tmp_path):
    script = tmp_path / "spin.py"
    # Python installs its SIGINT handler only if SIGINT was not ignored when
    # it started, and a shell's background job starts with it ignored.
    script.write_text(
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "def spin():\n"
        "    n = 0\n"
        "    while True:\n"
        "        n += 1\n"
        "print('ready', flush=True)\n"
        "spin()\n"
    )
    env = base_env(JITSAW="1", JITSAW_THRESHOLD="0")
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in err
    assert 'line 6, in spin' in err or 'line 5, in spin' in err


def test_recursion_error_at_the_interpreters_depth(jit):
    r = jit(
        """
        import sys
        depth = [0]
        def down(n):
            depth[0] = n
            return down(n + 1) + 1
        for limit in (100, 250, 1000):
            sys.setrecursionlimit(limit)
            try:
                down(0)
            except RecursionError as e:
                print(limit, depth, e)
        """
    )
    r.assert_compiled("down")


def test_deep_recursion_under_the_default_policy(jit):
    # Without JITSAW_THRESHOLD, code waits until its interpreted calls took
    # as long as compiling it would; each interpreted level nests a C-level
    # call (no Python call is inlined with a frame evaluator set), so a
    # recursion waiting for its calls to return would run out of C stack
    # where the interpreter alone goes as deep as the recursion limit.
    r = jit(
        """
        import sys
        sys.setrecursionlimit(100_000)
        def down(n):
            if n:
                down(n - 1)
            return n
        def even(n):
            return True if n == 0 else odd(n - 1)
        def odd(n):
            return False if n == 0 else even(n - 1)
        def walk(n, acc):
            for k in range(2):
                acc.append(k)
            return walk(n - 1, acc) if n else len(acc)
        print(down(90_000), even(60_000), odd(60_001), walk(30_000, []))
        try:
            down(150_000)
        except RecursionError as e:
            print("RecursionError", e)
        """,
        env={"JITSAW_THRESHOLD": ""},
    )
    r.assert_compiled("down", "even", "odd", "walk")


@pytest.mark.parametrize("threshold", ["0", ""])
def test_a_daemon_thread_waking_while_the_interpreter_finalizes(jit, threshold):
    # A daemon thread that wants the GIL back once the interpreter finalizes
    # leaves through `pthread_exit`, whose forced unwind runs through every
    # frame of the thread: through jitsaw's frames too (here the hook's,
    # under compiled code calling an interpreted function), which must not
    # answer it with "terminate" (glibc then aborts the process, as a
    # `multiprocessing` manager's server did at shutdown).
    jit(
        """
        import os, sys, threading, time
        class Slow:
            def __del__(self, write=os.write, sleep=time.sleep):
                write(1, b"finalizing\\n")
                sleep(0.3)
                write(1, b"finalized\\n")
        sys.modules["holder"] = type(sys)("holder")
        sys.modules["holder"].keep = Slow()
        def waiter():
            time.sleep(0.1)
        def worker():
            for i in range(3):
                pass
            waiter()
        threading.Thread(target=worker, daemon=True).start()
        time.sleep(0.02)
        print("main done", flush=True)
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )


def test_threads_switch_inside_jitted_loops(jit):
    r = jit(
        """
        import sys, threading
        sys.setswitchinterval(1e-6)
        results = {}
        lock = threading.Lock()
        shared = []
        def work(k):
            t = 0
            for i in range(20000):
                t += i * k
                if i % 1000 == 0:
                    with lock:
                        shared.append(k)
            results[k] = t
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(sorted(results.items()), sorted(shared) == sorted(k for k in range(4) for _ in range(20)))
        """
    )
    # Compiled at its first call; whether a later thread's call, run in the
    # interpreter to specialize what compiled code found due, left it
    # waiting for its next call's recompilation depends on the switches.
    assert r.state("work")["status"] in ("compiled", "requicken")


def test_settrace_switched_on_inside_a_jitted_loop(jit):
    r = jit(
        """
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == "loop":
                events.append((event, frame.f_lineno))
            return tracer
        def turn_on():
            sys.settrace(tracer)
        def loop(n):
            total = 0
            for i in range(n):
                total += i
                if i == 3:
                    turn_on()
                total += 1
            return total
        for i in range(3):
            sys.settrace(None)
            events.clear()
            print(loop(6), events)
        sys.settrace(None)
        """
    )
    assert r.state("loop")["calls"] >= 1


def test_frames_seen_from_compiled_code(jit):
    r = jit(
        """
        import inspect, sys
        def where():
            f = sys._getframe(1)
            return f.f_code.co_name, f.f_lineno, f.f_back.f_code.co_name
        def caller(n):
            a = where()
            b = [where() for _ in range(n)]
            return a, b, [s.function for s in inspect.stack()[:2]]
        for i in range(4):
            print(caller(2))
        def locals_(x):
            y = x * 2
            return sys._getframe().f_locals
        for i in range(4):
            print(locals_(i))
        """
    )
    r.assert_compiled("caller", "where", "locals_")


def test_direct_calls_between_compiled_functions(jit):
    r = jit(
        """
        import sys, traceback
        def leaf(x):
            return x + 1
        def mid(x):
            return leaf(x) * 2
        def top(n):
            t = 0
            for i in range(n):
                t += mid(i)
            return t
        for i in range(5):
            print(top(50))
        # Deep recursion: direct calls use no native stack, as in the interpreter.
        sys.setrecursionlimit(60000)
        def down(n):
            return 0 if n == 0 else down(n - 1) + 1
        print(down(3), down(3), down(3), down(50000))
        sys.setrecursionlimit(1000)
        depth = [0]
        def count(n):
            depth[0] = n
            return count(n + 1)
        for i in range(3):
            try:
                count(0)
            except RecursionError as e:
                print("RecursionError at", depth[0])
        """,
        # The calls themselves, which inlining would spare.
        env={"JITSAW_INLINE": "0"},
    )
    r.assert_compiled("leaf", "mid", "top", "down")
    assert r.stats["frames_entered"] > 250


def test_calls_of_functions_that_only_return_an_argument_or_a_constant(jit):
    # Such a call needs no frame once the callee is compiled: its result is
    # the argument or constant itself. Anything that makes it more (a
    # default filled, a new __code__, the recursion limit, tracing) takes
    # the call the usual way.
    r = jit(
        """
        import sys
        class V:
            def itself(self):
                return self
            def no(self):
                return False
            def pair(self):
                return (1, "two")
            def second(self, a, b):
                return b
            def defaulted(self, a=7):
                return a
        def nothing():
            pass
        def ident(x):
            return x
        def other(x):
            return -x
        def use(v, n):
            out = []
            for i in range(n):
                out.append((v.itself() is v, v.no(), v.pair(), v.second(i, [i]), v.defaulted(), v.defaulted(i), nothing(), ident(i)))
            return out
        v = V()
        for k in range(6):
            print(use(v, 3))
            if k == 3:
                ident.__code__ = other.__code__
                V.no = lambda self: "replaced"
        calls = [0]
        def tracer(frame, event, arg):
            if event == "call":
                calls[0] += 1
            return None
        sys.settrace(tracer)
        print(use(v, 2))
        sys.settrace(None)
        print("traced calls", calls[0])
        depth = [0]
        def deep(n):
            depth[0] = n
            ident(n)
            return deep(n + 1)
        for i in range(3):
            try:
                deep(0)
            except RecursionError:
                print("RecursionError at", depth[0])
        """,
        # The runtime's way, which inlining the method calls would spare.
        env={"JITSAW_INLINE": "0"},
    )
    r.assert_compiled("use", "ident")
    assert r.stats["calls_without_frame"] > 50, r.stats["calls_without_frame"]
    assert r.stats["calls_inlined"] == 0


@pytest.mark.parametrize("threshold", ["0", "2"], ids=["unspecialized", "specialized"])
def test_method_calls_that_only_return_self_or_a_constant_compiled_in_line(jit, threshold):
    # `obj.method()` of a method whose body only returns `self` or an
    # immortal constant is compiled without a call (`_CALL_TRIVIAL`), for as
    # long as the call would be exactly that: a replaced method or
    # `__code__`, a shadowing instance attribute, monitoring, a profiler, the
    # recursion limit or `self` dying in the call all behave as plain calls.
    r = jit(
        """
        import sys
        class V:
            def itself(self):
                return self
            def no(self):
                return False
            def none(self):
                return None
            def word(self):
                return "word"
            def half(self):
                return 0.5
        class W(V):
            def no(self):
                return True
        class Dying(V):
            def __init__(self, i):
                self.i = i
            def __del__(self):
                print("del", self.i)
        def other(self):
            return 42
        def use(v, n):
            out = []
            for i in range(n):
                out.append((v.itself() is v, v.no(), v.none(), v.word(), v.half()))
            return out
        def dying(n):
            for i in range(n):
                print("before", i)
                print(Dying(i).no(), Dying(-i).itself().i)
                print("after", i)
        # The methods and `__init__` compiled first, so that no compilation
        # makes `dying`'s first call long: a short first call has its
        # warm-up with the hook lifted, where the interpreter specializes
        # the calls that `_CALL_TRIVIAL` is compiled from.
        for k in range(4):
            print(Dying(k).no(), Dying(k).itself().i)
        for k in range(4):
            dying(2)
        v, w = V(), W()
        for k in range(8):
            print(use(v, 2), use(w, 1), sys.getrefcount(v))
            if k == 3:
                V.itself.__code__ = other.__code__
            if k == 5:
                v.no = lambda: "shadowed"
        seen = []
        def profiler(frame, event, arg):
            if event == "call":
                seen.append(frame.f_code.co_name)
        sys.setprofile(profiler)
        use(V(), 2)
        sys.setprofile(None)
        print(seen)
        mon = sys.monitoring
        mon.use_tool_id(3, "test")
        starts = []
        mon.register_callback(3, mon.events.PY_START, lambda code, offset: starts.append(code.co_name))
        mon.set_events(3, mon.events.PY_START)
        use(V(), 2)
        mon.set_events(3, 0)
        print(starts)
        mon.set_local_events(3, V.no.__code__, mon.events.PY_START)
        for k in range(6):
            use(V(), 2)
        mon.set_local_events(3, V.no.__code__, 0)
        mon.free_tool_id(3)
        print(starts)
        depth = [0]
        def deep(n, v):
            depth[0] = n
            v.no()
            return deep(n + 1, v)
        for i in range(3):
            try:
                deep(0, V())
            except RecursionError:
                print("RecursionError at", depth[0])
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    r.assert_compiled("use")
    if threshold == "2":
        assert "_CALL_TRIVIAL" in r.uops("use")
        # Each call's `self` dies in the trivial call.
        assert "_CALL_TRIVIAL" in r.uops("dying")


def test_exceptions_and_deopts_inside_direct_callees(jit):
    r = jit(
        """
        import sys, traceback
        def fails(x):
            return [1][x]
        def handles(x):
            try:
                return fails(x)
            except IndexError:
                return "handled " + str(sys.exc_info()[1])
        def propagates(x):
            return fails(x) + 1
        def guarded(x):
            return x + 1       # specialized for ints; a float deopts inside the callee
        def caller(x):
            return guarded(x) * 2
        for i in range(5):
            print(handles(0), handles(3), caller(i))
        print(caller(1.5), caller("no" if False else 2.5))
        try:
            propagates(9)
        except IndexError:
            print(traceback.format_exc())
        def looks(x):
            f = sys._getframe()
            return f.f_code.co_name, f.f_back.f_code.co_name, f.f_back.f_lineno
        def looker(x):
            return looks(x)
        for i in range(8):
            print(looker(i))
        """,
        # Frames entered directly, which inlining would spare.
        env={"JITSAW_INLINE": "0"},
    )
    r.assert_compiled("handles", "fails", "caller", "looker", "looks")
    assert r.exits("generic:BINARY_OP_ADD_INT")


def test_call_sites_entering_a_remembered_function_see_what_changed(jit):
    # A call site that entered a compiled function remembers it (the site's
    # `CallCache`), and the next call takes the quick way with only a few
    # checks: whatever changed in between must send the call the way that
    # looks again. A new `__code__` or defaults, local monitoring of the
    # callee's code, a lower recursion limit, a callee that falls back at
    # most calls.
    r = jit(
        """
        import sys
        mon = sys.monitoring
        def add(a, b):
            return a + b
        def other(a, b):
            return a * b
        def site(n, b):
            t = 0
            for i in range(n):
                t += add(i, b)
            return t
        def other_site(n, b):
            t = 0
            for i in range(n):
                t += other(i, b)
            return t
        # Both codes compiled before the swap, which compiles nothing.
        print(site(40, 1), other_site(40, 1), site(40, 2), other_site(40, 2))
        add.__code__ = other.__code__
        print(site(40, 3))
        add.__defaults__ = (5,)
        print(site(40, 4))
        add.__code__ = (lambda a, b=7: a - b).__code__
        print(site(40, 2))
        lines = []
        mon.use_tool_id(3, "jitsaw-test")
        mon.register_callback(3, mon.events.PY_START, lambda code, off: lines.append(code.co_name))
        mon.set_local_events(3, add.__code__, mon.events.PY_START)
        print(site(5, 1), lines)
        mon.set_local_events(3, add.__code__, 0)
        lines.clear()
        print(site(40, 1), lines)
        mon.free_tool_id(3)
        def down(n):
            return 0 if n == 0 else down(n - 1) + 1
        for limit in (400, 200, 120):
            sys.setrecursionlimit(limit)
            for k in range(30):
                try:
                    down(k * 10)
                except RecursionError:
                    print("limit", limit, "deep", k * 10)
                    break
        sys.setrecursionlimit(1000)
        def flaky(x):
            return x + 1
        def loop(xs):
            t = 0
            for x in xs:
                t += flaky(x)
            return t
        ints = list(range(50))
        print(loop(ints), loop(ints))
        print(loop([0.5 * i for i in range(200)]), loop(ints))
        """
    )
    r.assert_compiled("site", "loop", "flaky")
    assert r.stats["frames_entered"] > 200


def test_calls_binding_star_args_and_kwargs_in_compiled_code(jit):
    # A positional call of a function taking `*args` or `**kwargs` (and no
    # keyword-only parameters) is bound by jitsaw (`push_star_frame`) and
    # remembered by its site: a fresh `**kwargs` dict at every call, the
    # extra arguments in `*args` (the empty tuple for none), closures over
    # them, methods, calls that must raise `TypeError`, a `__code__` swapped
    # for one without stars, a deopt and a traceback inside, and recursion
    # to the limit, as the interpreter binds them.
    r = jit(
        """
        import sys, traceback
        def deb(self, msg, *args, **kwargs):
            kwargs.setdefault("n", 0)
            kwargs["n"] += 1
            return msg, args, kwargs
        def wrap(*args, **kwargs):
            return args, kwargs
        def rest(a, *more):
            return a, more
        def kw(a, b, **extra):
            extra[a] = b
            return sorted(extra.items())
        def closes(a, *args, **kw):
            def inner():
                return a, args, kw
            return inner()
        def half(x, *args):
            return x / 2
        def fails(x, *args):
            return args[x]
        class Log:
            def debug(self, msg, *args, **kwargs):
                if self.on(msg):
                    return ("log", msg % args if args else msg, kwargs)
            def on(self, msg):
                return msg != "quiet"
        def site(n):
            out = []
            log = Log()
            for i in range(n):
                out.append(deb(None, i))
                out.append(deb(None, i, 2, 3))
                out.append(wrap())
                out.append(wrap(i, [i]))
                out.append(rest(i))
                out.append(rest(i, 1, 2))
                out.append(kw(i, 5))
                out.append(closes(i, 7))
                out.append(log.debug("m %s", i))
                out.append(log.debug("quiet"))
                for bad in (lambda: kw(i), lambda: rest(), lambda: deb(None)):
                    try:
                        bad()
                    except TypeError as e:
                        out.append(str(e))
            return out
        for k in range(6):
            out = site(30)
        print(len(out), out[:16], out[-16:])
        first, second = wrap(1)[1], wrap(1)[1]
        print(first is second, first == second, sys.getrefcount(first))
        more = rest(1, "x", "y")[1]
        print(type(more), more, sys.getrefcount(more), rest(1)[1] == ())
        def swapped(n):
            return [wrap(i, i) for i in range(n)]
        print(swapped(40)[-1])
        wrap.__code__ = (lambda a, b: (b, a)).__code__
        print(swapped(40)[-1])
        def halves(n):
            return [half(i) for i in range(n)]
        print(halves(40)[-3:], halves(5) == halves(5))
        print(half(1.5), half(3))
        def index(n):
            return [fails(i % 3, "a", "b") for i in range(n)]
        try:
            index(40)
        except IndexError:
            traceback.print_exc(file=sys.stdout)
        def down(n, *args, **kwargs):
            return 0 if n == 0 else down(n - 1, *args) + 1
        for limit in (300, 150):
            sys.setrecursionlimit(limit)
            for depth in range(0, 400, 10):
                try:
                    down(depth, 1, 2)
                except RecursionError:
                    print("limit", limit, "depth", depth)
                    break
        sys.setrecursionlimit(1000)
        # Local monitoring of a remembered callee's code.
        mon = sys.monitoring
        starts = []
        mon.use_tool_id(3, "jitsaw-test")
        mon.register_callback(3, mon.events.PY_START, lambda code, off: starts.append(code.co_name))
        def debs(n):
            return [deb(None, i, i)[1] for i in range(n)]
        print(debs(40)[-1])
        mon.set_local_events(3, deb.__code__, mon.events.PY_START)
        print(debs(3), starts)
        mon.set_local_events(3, deb.__code__, 0)
        starts.clear()
        print(debs(40)[-1], starts)
        mon.free_tool_id(3)
        # A signal's handler runs at the eval breaker inside such a callee.
        import signal
        seen = []
        signal.signal(signal.SIGUSR1, lambda sig, frame: seen.append(
            (frame.f_code.co_name, frame.f_locals.get("args"), sorted(frame.f_locals.get("kw", {})))))
        def ping(*args, **kw):
            if args[0] % 10 == 0:
                signal.raise_signal(signal.SIGUSR1)
            return len(args)
        def pings(n):
            return sum(ping(i, i) for i in range(n))
        print(pings(40), pings(40), seen[-3:], len(seen))
        """
    )
    r.assert_compiled("site", "deb", "closes")
    assert r.stats["star_calls_bound"] > 500, r.stats["star_calls_bound"]


def test_tracing_switched_on_inside_a_direct_callee(jit):
    r = jit(
        """
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("outer", "inner"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def inner(x, on):
            if on:
                sys.settrace(tracer)
            return x + 1
        def outer(n, on_at):
            t = 0
            for i in range(n):
                t += inner(i, i == on_at)
            return t
        for i in range(4):
            sys.settrace(None)
            events.clear()
            print(outer(5, 2 if i == 3 else -1), events)
        sys.settrace(None)
        """
    )
    r.assert_compiled("outer", "inner")


def test_code_run_by_decrefs_sees_the_current_line(jit):
    # A `__del__` runs in the middle of compiled code (a store, a pop, a
    # subscript freeing a list): the frame it looks at is on the right line,
    # while int and float arithmetic around it needs no such care.
    r = jit(
        """
        import sys
        class Noisy:
            def __del__(self):
                print("del at line", sys._getframe(1).f_lineno)
        def f(n):
            t = 0.5
            for i in range(n):
                x = Noisy()
                t = t * 1.5 + i
                x = None
                Noisy()
                t = t - 2.0
                [Noisy(), 1][1]
                [1, 2.5, "s", None, i][1:i + 2:1]
                s = slice(1, Noisy())
                s = (i, i + 1.0, i)
                s = list(range(20)) + [Noisy()]
                s = None
            return t
        for k in range(3):
            print(f(2))
        """
    )
    r.assert_compiled("f")
    for line in (11, 12, 14, 17, 19):
        assert f"del at line {line}" in r.stdout
    assert r.stdout.count("del at line") == 3 * 2 * 5


def test_frees_at_a_site_that_freed_quiet_objects_see_the_current_line(jit):
    # A site that freed thousands of objects whose free runs no code (short
    # lists of ints) is cached by then, and the quick way of its frees
    # points the frame from the cache; when it frees a list holding an
    # object with `__del__`, that sees the line, in the main thread and,
    # with several threads running, in each thread's own frame.
    r = jit(
        """
        import sys, threading
        class Noisy:
            def __del__(self):
                sys.stdout.write(f"del at line {sys._getframe(1).f_lineno}\\n")
        def f(n, make):
            for i in range(n):
                s = [i, i + 1] if i < n - 1 else [make(), 1]
                s = None
            return n
        f(5000, Noisy)
        f(5000, Noisy)
        def work():
            f(2000, Noisy)
        threads = [threading.Thread(target=work) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        """
    )
    r.assert_compiled("f")
    assert r.stdout.splitlines() == ["del at line 9"] * 5


def test_loop_iterators_freed_at_a_loops_end_see_the_current_line(jit):
    # A `for` loop's iterator dies at the loop's end. Exhausted, a tuple or
    # list iterator has let go of its sequence and a range iterator holds
    # none: freeing them runs no code. Left by `break`, one may still hold
    # the only reference to its list, whose items' `__del__` then runs as
    # the iterator is freed, and must see the frame on the loop's line.
    r = jit(
        """
        import sys
        class Noisy:
            def __del__(self):
                print("del at line", sys._getframe(1).f_lineno)
        def f(n):
            t = 0
            for x in [Noisy(), Noisy()]:
                if n:
                    break
                t += 1
            x = None
            for y in (Noisy(), 1):
                break
            y = None
            for i in range(n):
                t += i
            for z in iter([1, 2]):
                t += z
            return t
        for k in range(6):
            print(f(k % 2))
        """
    )
    r.assert_compiled("f")
    assert r.stdout.count("del at line") == 6 * 3


def test_warnings_from_deallocations_name_the_current_line(jit):
    # A file dropped unclosed warns from its deallocation, at the line of
    # the frame that freed it: stores, pops, unpacking and a subscript, none
    # of which sets the frame's instruction itself.
    r = jit(
        """
        import warnings
        warnings.simplefilter("always")
        def f(n):
            out = 0
            for i in range(n):
                fh = open(__file__)
                out += 1
                fh = None
                open(__file__)
                a, b = open(__file__), 2
                a = b
                out += [open(__file__), 1][1]
            return out
        for k in range(3):
            print(f(2))
        """
    )
    r.assert_compiled("f")
    assert r.stderr.count(": ResourceWarning: unclosed file") == 24
    for line in (9, 10, 12, 13):
        assert f"snippet.py:{line}: ResourceWarning" in r.stderr


def test_a_long_warm_up_call_goes_on_compiled(jit):
    # Under jitsaw's policy a function whose first call was short warms up
    # in its second call with the hook lifted (everything interpreted, so
    # that CPython specializes calls as it would without jitsaw). A warm-up
    # that runs long is entered compiled at a back edge, the hook back for
    # the rest of it: calls it makes, a recursion, an exception raised
    # after and caught in the frame, one escaping it, and what later calls
    # run behave as plain.
    r = jit(
        """
        def helper(i):
            return i % 7
        def work(n, fail=False):
            t = 0
            for i in range(n):
                t += helper(i)
                if i == n - 2 and fail:
                    try:
                        raise KeyError(i)
                    except KeyError as e:
                        t += e.args[0]
            if fail:
                raise ValueError(t)
            return t, n and work(n // 1000)
        print(work(100))
        try:
            work(400000, True)
        except ValueError as e:
            print("ValueError", e)
        print(work(300000), work(5))
        """,
        env={"JITSAW_THRESHOLD": ""},
    )
    assert r.stats["loops_entered"] >= 1, r.stats["loops_entered"]
    r.assert_compiled("work")


@pytest.mark.parametrize("threshold", ["0", "16"], ids=["provisional", "counted"])
def test_long_first_calls_enter_their_loops_again_compiled_anew(jit, threshold):
    # A long first call of code with loops leaves its provisional code for
    # the interpreter, which runs a turn of the loop nest, and is entered
    # again at the loop's head in code compiled from that specialization
    # (`hook::osr`); under the policy (not compiled for its first call),
    # the interpreter runs the call, counted, and it is entered at a back
    # edge once long. The rest of the call must behave as the interpreter
    # would make it: returns from inside the loop (a value, a constant),
    # exceptions with and without a handler in the frame (their
    # tracebacks), re-raises, paths the interpreted turn did not take,
    # deopts, recursion to the limit, a trace function set mid-loop,
    # `f_lineno` outside a trace function, and a program that took the
    # optimizer's `sys.monitoring` tool itself.
    # (20 000 turns: a first call is entered once it has run three times
    # what compiling the code is estimated to take, `hook::price`.)
    r = jit(
        """
        import sys, traceback
        def show(f, expected):
            try:
                f(20000)
            except expected:
                traceback.print_exc(file=sys.stdout)
        def nest(n):
            total, seen = 0, []
            for i in range(n):
                for j in range(3):
                    total += i * j
                if i % 997 == 996:
                    seen.append(total % 1000)
                k = 0
                while k < 2:
                    k += 1
                    total -= k
                if i == n - 10:
                    total = total + 0.5
            return total, seen
        print(nest(20000))
        def ret_value(n):
            for i in range(n):
                if i == n - 1:
                    return i * 2
        def ret_const(n):
            for i in range(n):
                if i == n - 1:
                    return None
            return "no"
        print(ret_value(20000), ret_const(20000))
        def no_handler(n):
            t = 0
            for i in range(n):
                t += 1 // (n - 1 - i)
            return t
        show(no_handler, ZeroDivisionError)
        def handler(n):
            caught = 0
            for i in range(n):
                try:
                    caught += 1 // (i % 1000)
                except ZeroDivisionError:
                    caught += 100
            return caught
        print(handler(20000))
        def reraise(n):
            for i in range(n):
                try:
                    if i == n - 3:
                        raise KeyError(i)
                except ValueError:
                    pass
        show(reraise, KeyError)
        def bare(n):
            for i in range(n):
                try:
                    if i == n - 3:
                        raise IndexError(i)
                except IndexError:
                    if i > 0:
                        raise
        show(bare, IndexError)
        def inside_try(n):
            t = 0
            try:
                for i in range(n):
                    t += i
            finally:
                t += 1
            return t
        print(inside_try(20000))
        def down(k):
            return 0 if k == 0 else down(k - 1) + 1
        def deep(n, limit):
            found = None
            for i in range(n):
                if i == n - 1:
                    for d in range(0, 2 * limit, 7):
                        try:
                            down(d)
                        except RecursionError:
                            found = d
                            break
            return found
        sys.setrecursionlimit(200)
        print(deep(20000, 200))
        sys.setrecursionlimit(1000)
        def traced(n):
            t = 0
            for i in range(n):
                if i == n - 3:
                    sys.settrace(tracer)
                t += helper(i)
            sys.settrace(None)
            return t
        def helper(i):
            return i % 3
        events = []
        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        print(traced(20000), events[:12], len(events))
        def lineno(n):
            f = sys._getframe()
            for i in range(n):
                if i == n - 1:
                    try:
                        f.f_lineno = 1
                    except ValueError as e:
                        return str(e)
        print(lineno(20000))
        print(sys.monitoring.get_tool(sys.monitoring.OPTIMIZER_ID))
        sys.monitoring.use_tool_id(sys.monitoring.OPTIMIZER_ID, "mine")
        def theirs(n):
            t = 0
            for i in range(n):
                t += i
            return t
        print(theirs(20000), sys.monitoring.get_tool(sys.monitoring.OPTIMIZER_ID))
        sys.monitoring.free_tool_id(sys.monitoring.OPTIMIZER_ID)
        def gen(n):
            for i in range(n):
                yield i
        print(sum(gen(20000)))
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # nest, ret_value, ret_const, no_handler, handler, reraise, bare, deep,
    # traced, lineno: entered again; inside_try (its loop's head has a
    # handler), theirs (the tool was taken) and the generator are not.
    assert r.stats["loops_entered"] >= 10


@pytest.mark.parametrize("threshold", ["0", "16"], ids=["provisional", "counted"])
def test_long_first_calls_that_pay_inside_a_covered_loop_enter_a_later_one(jit, threshold):
    # A first call is entered at a back edge once it has run the price of
    # compiling its code, but not at a loop whose head a handler covers:
    # an inlined comprehension's (its iteration variable is restored by a
    # handler), a loop in a `try` or `with` body. A call that pays the price
    # inside such a loop goes on counting (the event taken off that back
    # edge alone) and is entered at the next loop outside one, which
    # compiled code runs to the call's end; a call whose loops are all
    # covered runs interpreted to its end, as it did.
    r = jit(
        """
        import contextlib
        from jitsaw import _jitsaw
        def work(n):
            # 200 000 items: the comprehension alone runs past the price.
            doubled = [i * 2 for i in range(n)]
            t = 0
            with contextlib.nullcontext():
                for d in doubled[:1000]:
                    t += d
            for i in range(n):
                t += i % 7
                if i == n - 2:
                    t += 0.5
            return t
        print(work(200000))
        _record("work", _jitsaw.code_state(work)["status"])
        def covered(n):
            t = 0
            try:
                t = sum([i for i in range(n)])
                for i in range(n):
                    t -= i % 5
            except KeyError:
                t = -1
            return t
        print(covered(200000))
        _record("covered", _jitsaw.code_state(covered)["status"])
        """,
        env={"JITSAW_THRESHOLD": threshold},
    )
    # Under the policy, `covered` waits as a short first call does; forced
    # (`0`), its first call runs in provisional code, which leaves at no
    # covered loop.
    assert r.recorded["work"] == "compiled", r.recorded
    assert r.recorded["covered"] == ("counted" if threshold == "16" else "provisional"), r.recorded
    assert r.stats["loops_entered"] >= 1, r.stats["loops_entered"]

def test_counted_first_calls_that_start_threads(jit):
    # Under the policy a function's first call runs in the interpreter,
    # counted (`hook::osr`), only while one thread runs; here that call
    # starts threads (switching every microsecond) whose own first calls
    # are compiled meanwhile, goes on with its loops while they run and is
    # entered compiled with them running, and the event comes off with
    # threads alive; then a long first call once they have finished.
    r = jit(
        """
        import sys, threading
        sys.setswitchinterval(1e-6)
        def work(k, out):
            t = 0
            for i in range(3000):
                t += i * k
            out.append((k, t))
        def main(n):
            out, threads = [], []
            for k in range(n):
                th = threading.Thread(target=work, args=(k, out))
                th.start()
                threads.append(th)
                s = 0
                for i in range(3000):
                    s += i % 5
                out.append(("main", k, s))
            for th in threads:
                th.join()
            return sorted(map(str, out))
        print(main(4))
        print(main(3))
        def solo(n):
            t = 0
            for i in range(n):
                t += i % 7
            return t
        print(solo(200000), solo(10), solo(10))
        """,
        env={"JITSAW_THRESHOLD": "16"},
    )
    assert r.stats["loops_entered"] >= 1, r.stats["loops_entered"]


def test_long_first_calls_in_threads_enter_their_loops_again(jit):
    # Threads switching every microsecond run long first calls: frames
    # leave for the interpreter and are entered again while other threads
    # run, compiled or in the interpreter in the middle of an instrumented
    # jump (whose eval breaker check may switch threads: the code's
    # monitoring data must outlive it). Even rounds give each thread a code
    # object of its own (every thread's call is a first call, entered
    # again); odd rounds share one fresh code object between all threads.
    r = jit(
        """
        import sys, threading, types
        sys.setswitchinterval(1e-6)
        def work(k, out):
            t = 0
            for i in range(6000):
                t += i * k
                if i % 1500 == 0:
                    t -= len(out)
            out.append((k, t))
        for round in range(6):
            out = []
            shared = types.FunctionType(work.__code__.replace(), globals())
            fresh = lambda: types.FunctionType(work.__code__.replace(), globals())
            targets = [fresh() if round % 2 == 0 else shared for k in range(4)]
            threads = [threading.Thread(target=targets[k], args=(k, out)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(round, sorted(k for k, _ in out), len(out))
        """
    )
    assert r.stats["loops_entered"] >= 6, r.stats["loops_entered"]
