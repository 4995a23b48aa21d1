"""Runs a test snippet as ``__main__``; under the JIT, also reports what the
JIT did (``JITSAW_TEST_REPORT`` names the JSON file to write).

Plain and jitted runs both go through this driver, so their tracebacks have
the same frames.
"""

import builtins
import os
import sys
import types

path = sys.argv[1]
sys.argv = sys.argv[1:]
report = os.environ.get("JITSAW_TEST_REPORT")
if report:
    # Imported before the snippet runs, which may break what importing them
    # needs (a test deletes `builtins.abs`, which `operator` imports).
    import json

    import jitsaw
    from jitsaw import _jitsaw
with open(path) as f:
    code = compile(f.read(), path, "exec")
recorded = {}


def _record(key, value):
    """What a snippet notes for its test to check (a state seen mid-run):
    written to the jitted run's report; the plain run ignores it."""
    recorded[key] = value


# A builtin, so that the snippet's globals are exactly as before (tests
# running out of memory on purpose depend on when that dict grows).
builtins._record = _record
namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
try:
    exec(code, namespace)
finally:
    if report:
        functions = {}
        for name, obj in list(namespace.items()):
            if isinstance(obj, types.FunctionType):
                functions[name] = _jitsaw.code_state(obj)
            elif isinstance(obj, type):
                for attr, value in vars(obj).items():
                    if isinstance(value, types.FunctionType):
                        functions[f"{name}.{attr}"] = _jitsaw.code_state(value)
        with open(report, "w") as out:
            json.dump({"stats": jitsaw.stats(), "functions": functions, "recorded": recorded}, out)
