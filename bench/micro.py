"""Small CPU-bound loops for jitsaw's benchmark (`bench/run.py` runs each
plain and with the JIT). Each is a pyperf time function."""

import pyperf


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def bench_fibonacci(loops):
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        fibonacci(90)
    return pyperf.perf_counter() - t0


def float_loop(n):
    x, y, vx, vy = 0.0, 0.0, 1.0, 0.5
    for _ in range(n):
        vx = vx - x * 0.01
        vy = vy - y * 0.01
        x = x + vx * 0.01
        y = y + vy * 0.01
    return x, y


def bench_floats(loops):
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        float_loop(1000)
    return pyperf.perf_counter() - t0


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self):
        return abs(self.x) + abs(self.y)


def attributes(points):
    total = 0
    for p in points:
        p.x = p.x + 1
        total += p.norm1()
    return total


def bench_attributes(loops):
    points = [Point(i, -i) for i in range(100)]
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        attributes(points)
    return pyperf.perf_counter() - t0


def containers(n):
    d = {}
    out = []
    for i in range(n):
        key = i % 17
        d[key] = d.get(key, 0) + i
        out.append((key, i))
    return len(out), sum(d.values()), out[n // 2][1]


def bench_containers(loops):
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        containers(500)
    return pyperf.perf_counter() - t0


def add(a, b):
    return a + b


def calls(n):
    t = 0
    for i in range(n):
        t = add(t, i)
    return t


def bench_calls(loops):
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        calls(500)
    return pyperf.perf_counter() - t0


BENCHMARKS = {
    "fibonacci": bench_fibonacci,
    "floats": bench_floats,
    "attributes": bench_attributes,
    "containers": bench_containers,
    "calls": bench_calls,
}

def _worker_args(cmd, args):
    cmd.extend(("--only", args.only))


if __name__ == "__main__":
    runner = pyperf.Runner(add_cmdline_args=_worker_args)
    runner.argparser.add_argument("--only", choices=sorted(BENCHMARKS), required=True)
    args = runner.parse_args()
    runner.bench_time_func(args.only, BENCHMARKS[args.only])
