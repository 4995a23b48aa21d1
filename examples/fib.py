"""The seed example: the iterative Fibonacci loop jitsaw's benchmark times."""


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 90
    for i in range(5):
        fibonacci(n)
    print(f"fibonacci({n}) = {fibonacci(n)}")
    jit = sys.modules.get("jitsaw")
    if jit is not None and jit.is_enabled():
        state = jit._jitsaw.code_state(fibonacci)["status"]
        print(f"jitsaw: fibonacci is {state}; {jit.stats()['functions_compiled']} code objects compiled")
