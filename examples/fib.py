"""The seed example: the iterative Fibonacci loop jitsaw's benchmark times."""


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 90
    # Many short calls: jitsaw compiles a function whose calls take less
    # time than compiling it only once it has been called a few times.
    for i in range(10000):
        fibonacci(n)
    print(f"fibonacci({n}) = {fibonacci(n)}")
    jit = sys.modules.get("jitsaw")
    if jit is not None and jit.is_enabled():
        state = jit._jitsaw.code_state(fibonacci)["status"]
        print(f"jitsaw: fibonacci is {state}; {jit.stats()['functions_compiled']} code objects compiled")
