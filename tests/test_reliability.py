"""Code memory and API robustness: compiled code is never writable and
executable at once, dies with its code object, and enabling, disabling and
re-enabling at any point is safe."""


def test_code_memory_is_never_writable_and_executable(jit):
    r = jit(
        """
        def work(n):
            t = 0
            for i in range(n):
                t += i
            return t
        for k in range(4):
            print(work(1000))
        rwx = [line for line in open("/proc/self/maps") if line.split()[1].startswith("rwx")]
        print("rwx mappings:", len(rwx))
        """
    )
    r.assert_compiled("work")
    assert "rwx mappings: 0" in r.stdout


def test_code_is_freed_with_its_code_object(jit):
    # 100 000 functions, each compiled at its first call and dropped: the
    # code memory and the JIT's state must not pile up.
    r = jit(
        """
        import gc, resource
        def rss_mib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 2**20
        def make(i):
            src = f"def f{i}(x):\\n    return x + {i}\\n"
            ns = {}
            exec(src, ns)
            return ns[f"f{i}"]
        total = 0
        for i in range(100_000):
            total += make(i)(1)
            if i == 10_000:
                gc.collect()
                early = rss_mib()
        gc.collect()
        late = rss_mib()
        print(total, "bounded" if late - early < 64 else f"grew {late - early:.0f} MiB")
        """,
        timeout=600,
    )
    assert r.stats["functions_compiled"] > 100_000
    assert "bounded" in r.stdout


def test_provisional_code_is_freed_after_its_call(jit):
    # Code with a loop compiles at its first call from bytecode not yet
    # specialized; no later call runs that code, so it is freed when the
    # call returns (not before: `nested` runs it under its inner calls) and
    # does not pile up for functions that run once.
    r = jit(
        """
        def nested(depth):
            t = 0
            for i in range(3):
                t += i
            if depth:
                t += nested(depth - 1)
            return t
        print(nested(5))
        fs = []
        for i in range(300):
            ns = {}
            exec(f"def once{i}(n):\\n    t = {i}\\n    for j in range(n):\\n        t += j\\n    return t\\n", ns)
            fs.append(ns[f"once{i}"])
        print(sum(f(100) for f in fs))
        print([nested(4) for i in range(4)], [fs[0](i) for i in range(4)])
        """
    )
    r.assert_compiled("nested")
    s = r.stats
    assert s["provisional_code_bytes_freed"] > 300 * 1000, s
    assert s["code_bytes_in_use"] < s["code_bytes"] / 3, s


def test_functions_freed_by_their_own_call(jit):
    # A function that rebinds its own global name (as pydoc.pager does), or
    # deletes it, holds the last reference to itself in its frame when its
    # code object is referenced nowhere else (code made by exec): popping
    # the frame frees the function, its code object and the JIT's state of
    # it, which the frame evaluator must not touch after the run. Freed
    # memory is scribbled over (MALLOC_PERTURB_), so a use after free
    # crashes.
    r = jit(
        """
        import gc
        source = "\\n".join([
            "def pager(text, title=''):",
            "    global pager",
            "    pager = get_pager()",
            "    pager(text, title)",
            "def get_pager():",
            "    return lambda text, title='': print('paged', text, title)",
            "def doc(thing):",
            "    pager(f'doc of {thing}', 'title')",
            "def once(n):",
            "    global once",
            "    del once",
            "    t = 0",
            "    for i in range(n):",
            "        t += i",
            "    return t",
        ])
        ns = {}
        exec(compile(source, "<generated>", "exec"), ns)
        del source
        gc.collect()
        for i in range(3):
            ns["doc"](i)
        print(ns["once"](10), "once" in ns)
        """,
        env={"MALLOC_PERTURB_": "165"},
    )
    assert r.stats["provisional_code_bytes_freed"] > 0


def test_superseded_code_is_freed_when_no_frame_can_run_it(jit):
    # Code compiled again frees its older compilations unless a frame of
    # it may still run one: recursion recompiling the code under frames
    # running it, and a recompile from a `__del__` run while a compiled
    # return releases the popped frame's locals (its `_POP_FRAME` goes on
    # in the old code). Freed code is unmapped, so running it would crash.
    r = jit(
        """
        import sys
        def walk(x, depth):
            total = 0
            for i in range(3):
                total = total + x
            if depth:
                total = total + walk(x * 1.5 if depth == 3 else x, depth - 1)
            return total
        for i in range(3):
            print(walk(1, 6))
        print(walk(2, 6), walk(1.0, 6))
        A = B = C = D = 1
        names = iter("ABCD")
        class Token:
            def __del__(self):
                # Each rebinding invalidates `release`, compiled again here.
                name = next(names, None)
                if name:
                    globals()[name] += 1
                    release(False)
        def release(make):
            t = Token() if make else None
            return A + B + C + D
        def caller(n, make):
            return [release(make) for i in range(n)]
        for i in range(5):
            caller(20, False)
        for i in range(6):
            print(caller(3, True))
        def busy(n):
            t = 0
            for i in range(n):
                t = t + i
            return t
        try:
            busy(10.5)
        except TypeError as e:
            print(e)
        print(busy(10), busy(20), busy(3))
        """
    )
    r.assert_compiled("walk", "release")
    assert r.stats["superseded_code_bytes_freed"] > 0


def test_enable_disable_reenable_while_compiled_frames_run(jit):
    r = jit(
        """
        import jitsaw
        def inner(i):
            if i == 500:
                jitsaw.disable()
            if i == 700:
                jitsaw.enable()
                jitsaw.enable()        # enabling twice is a no-op
            return i * 2
        def outer(n):
            t = 0
            for i in range(n):
                t += inner(i)
            return t
        for k in range(3):
            print(outer(1000), jitsaw.is_enabled())
        jitsaw.disable()
        jitsaw.disable()               # so is disabling twice
        print(outer(10), jitsaw.is_enabled())
        jitsaw.enable()
        print(outer(10), jitsaw.is_enabled())
        """
    )
    r.assert_compiled("outer", "inner")


def test_code_limit_stops_compiling_and_says_so(jit):
    # Each function is called past the threshold, so its code is kept (a
    # page at least): 400 of them outgrow the 1 MiB limit.
    r = jit(
        """
        fs = []
        for i in range(400):
            ns = {}
            exec(f"def f{i}(x):\\n    return [x + {i} for _ in range(3)]\\n", ns)
            fs.append(ns[f"f{i}"])
        print(sum(f(1)[0] for f in fs for _ in range(20)))
        """,
        env={"JITSAW_CODE_LIMIT": "1"},
    )
    assert r.stats["code_limit_hits"] > 0
    assert r.stats["code_bytes_in_use"] <= 2 * 2**20


def test_code_limit_zero_compiles_nothing(jit):
    # The hook alone (for measuring its cost): everything still runs.
    r = jit(
        """
        def f(n):
            return sum(i * i for i in range(n))
        print([f(k) for k in range(50)][-1])
        """,
        env={"JITSAW_CODE_LIMIT": "0"},
    )
    assert r.stats["functions_compiled"] == 0 and r.stats["code_limit_hits"] > 0


def test_memory_error_inside_compiled_code_is_raised(jit):
    # `set_nomemory(start)` makes every allocation after the first `start`
    # fail: inside the loops, in whatever they allocate first.
    r = jit(
        """
        import _testcapi
        def f(n):
            out = []
            try:
                for i in range(n):
                    out.append([i] * 1000)
                    x = i * 1.5 + 2.0
            except MemoryError:
                return 'MemoryError', len(out)
            return 'done', len(out)
        for _ in range(3):
            f(10)
        def g():
            d = {}
            try:
                for i in range(10**9):
                    d[i] = str(i) * 100 + 'x'
            except MemoryError:
                return 'MemoryError'
        for start in (0, 20):
            _testcapi.set_nomemory(start, 0)
            a = f(10**9)
            _testcapi.remove_mem_hooks()
            _testcapi.set_nomemory(start + 5, 0)
            b = g()
            _testcapi.remove_mem_hooks()
            print(start, a, b)
        """
    )
    r.assert_compiled("f")
    # g raised on most calls, so it may be waiting to be recompiled.
    assert r.state("g")["status"] in ("compiled", "requicken")


def test_a_process_out_of_memory_raises_memory_error_not_aborts(jit):
    # The process's address space runs out (`RLIMIT_AS`), not just CPython's
    # allocators: the functions called then are new to jitsaw, whose state
    # for them, and their compilation, allocate from the system too. Rust
    # aborts when an allocation fails; jitsaw's allocator gives a reserve
    # back instead and compiles nothing more until it can take the reserve
    # again (`memory.rs`), so the program gets its `MemoryError`s as it
    # does plain, frees its memory and goes on compiled.
    r = jit(
        """
        import resource
        fresh = []
        for k in range(60):
            ns = {}
            exec(f"def f{k}(x):\\n    t = x\\n    for i in range(3):\\n"
                 f"        t = t * 2 + {k}\\n    return t\\n", ns)
            fresh.append(ns[f"f{k}"])
        def size_of_address_space():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (size_of_address_space() + (96 << 20), hard))
        hog = []
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1 << 5):
            try:
                while True:
                    hog.append(bytearray(size))
            except MemoryError:
                pass
        # Out of memory: the first calls of functions jitsaw has not seen.
        results = []
        for f in fresh:
            try:
                results.append(f(1))
            except MemoryError:
                results.append(None)
        del hog
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        print(len(results), [f(1) for f in fresh][:5], sum(f(2) for f in fresh for _ in range(40)))
        """
    )
    assert r.stats["functions_compiled"] > 0

def test_compiling_from_several_threads_at_once(jit):
    r = jit(
        """
        import sys, threading
        sys.setswitchinterval(1e-6)
        results = {}
        counter = [0]
        lock = threading.Lock()
        def work(k):
            # Each thread makes and compiles its own functions while the
            # others run compiled code on shared objects.
            for n in range(30):
                ns = {}
                exec(f"def f{k}_{n}(xs, lock, counter):\\n"
                     f"    t = 0\\n"
                     f"    for x in xs:\\n"
                     f"        t += x * {n}\\n"
                     f"        with lock:\\n"
                     f"            counter[0] += 1\\n"
                     f"    return t\\n", ns)
                fn = ns[f"f{k}_{n}"]
                results[k, n] = fn(range(200), lock, counter)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(sorted(results.items())[:5], len(results), counter[0])
        """
    )
    r.assert_compiled("work")
    assert r.stats["functions_compiled"] >= 180
