"""Differential testing: run a snippet with the plain interpreter and with
jitsaw forced on (``JITSAW_THRESHOLD=0``), and require the same output,
tracebacks and exit status. The jitted run also reports what was compiled,
so each test can check that the code it means to exercise really ran
compiled (a differential test on uncompiled code could not fail).
"""

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PYTHON = sys.executable
DRIVER = Path(__file__).with_name("driver.py")
ROOT = Path(__file__).resolve().parent.parent


def base_env(**extra):
    """The environment without any JITSAW_* setting, with a fixed hash seed
    (so both runs order sets alike), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSAW")}
    env["PYTHONHASHSEED"] = "0"
    env.update(extra)
    return env


@dataclass
class Report:
    """What the JIT did during a jitted run."""

    stats: dict
    functions: dict
    #: What the snippet noted with ``_record(key, value)`` during the run.
    recorded: dict
    stdout: str
    stderr: str
    returncode: int

    def state(self, name):
        try:
            return self.functions[name]
        except KeyError:
            raise AssertionError(f"no function {name!r} in the snippet; have {sorted(self.functions)}")

    def assert_compiled(self, *names):
        for name in names:
            status = self.state(name)["status"]
            assert status == "compiled", f"{name} is {status!r}, not compiled"

    def uops(self, name):
        return self.state(name)["uops"]

    def exits(self, prefix=""):
        return {k: v for k, v in self.stats["exits"].items() if k.startswith(prefix)}


def run_snippet(source, tmp_path, *, jit, env=None, args=(), timeout=120):
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent(source))
    report = tmp_path / ("report.json" if jit else "plain.json")
    extra = dict(env or {})
    if jit:
        # `JITSAW_TEST_THRESHOLD`: the threshold of tests that set none (0
        # unless given; empty for jitsaw's own policy). Tests that check what
        # was compiled assume 0; the differential checks hold at any.
        extra.setdefault("JITSAW_THRESHOLD", os.environ.get("JITSAW_TEST_THRESHOLD", "0"))
        extra.update(JITSAW="1", JITSAW_TEST_REPORT=str(report))
        # `JITSAW_TEST_DEBUG=1`: compiled code checks its stack depth
        # before every micro-op (tests/run runs the differential tests so).
        if os.environ.get("JITSAW_TEST_DEBUG") == "1":
            extra.setdefault("JITSAW_DEBUG", "1")
    proc = subprocess.run(
        [PYTHON, str(DRIVER), str(snippet), *args],
        capture_output=True,
        text=True,
        env=base_env(**extra),
        cwd=tmp_path,
        timeout=timeout,
    )
    data = json.loads(report.read_text()) if jit and report.exists() else {}
    return Report(
        data.get("stats", {}),
        data.get("functions", {}),
        data.get("recorded", {}),
        proc.stdout,
        proc.stderr,
        proc.returncode,
    )


@pytest.fixture
def jit(tmp_path):
    """``jit(source)`` runs ``source`` plain and jitted, asserts identical
    behaviour, and returns the jitted run's :class:`Report`. The plain run
    must succeed unless ``fails`` says the program ends with an uncaught
    exception on purpose: a program that stops early by mistake would
    compare only its traceback, and what it never ran would go untested."""

    def check(source, *, env=None, args=(), timeout=120, fails=False):
        plain = run_snippet(source, tmp_path, jit=False, env=env, args=args, timeout=timeout)
        assert (plain.returncode != 0) == fails, (
            f"the plain run {'succeeded' if fails else 'failed'}\n{plain.stderr}"
        )
        jitted = run_snippet(source, tmp_path, jit=True, env=env, args=args, timeout=timeout)
        assert jitted.stderr == plain.stderr, f"stderr differs\n--- plain\n{plain.stderr}\n--- jit\n{jitted.stderr}"
        assert jitted.stdout == plain.stdout, f"stdout differs\n--- plain\n{plain.stdout}\n--- jit\n{jitted.stdout}"
        assert jitted.returncode == plain.returncode
        assert jitted.stats, f"the jitted run wrote no report\n{jitted.stderr}"
        return jitted

    return check
