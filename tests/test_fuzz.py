"""The differential fuzzers' CI batches: 500 random programs with a fixed
seed, plain vs. compiled with forced deopts (`tests/fuzz/fuzz.py`; its long
mode runs 10 000 and more), 200 programs rebinding the globals and
builtins compiled code burned in (`tests/fuzz/globals_fuzz.py`), 100
loops of arithmetic kept in machine words (`tests/fuzz/loops_fuzz.py`) and
200 programs of inlined method calls whose values, globals and methods
change under them (`tests/fuzz/inline_fuzz.py`)."""

import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).with_name("fuzz") / "fuzz.py"
GLOBALS_FUZZ = Path(__file__).with_name("fuzz") / "globals_fuzz.py"
LOOPS_FUZZ = Path(__file__).with_name("fuzz") / "loops_fuzz.py"
INLINE_FUZZ = Path(__file__).with_name("fuzz") / "inline_fuzz.py"


def run_batch(fuzzer, count, tmp_path):
    """Runs `count` programs of `fuzzer` from seed 1 and checks that none
    diverged."""
    proc = subprocess.run(
        [sys.executable, str(fuzzer), "--seed", "1", "--count", str(count), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{count} programs, 0 divergences" in proc.stdout


def test_fixed_seed_batch_agrees_with_the_interpreter(tmp_path):
    run_batch(FUZZ, 500, tmp_path)


def test_global_rebinding_batch_agrees_with_the_interpreter(tmp_path):
    run_batch(GLOBALS_FUZZ, 200, tmp_path)


def test_loops_in_words_batch_agrees_with_the_interpreter(tmp_path):
    run_batch(LOOPS_FUZZ, 100, tmp_path)


def test_inlined_calls_batch_agrees_with_the_interpreter(tmp_path):
    run_batch(INLINE_FUZZ, 200, tmp_path)
