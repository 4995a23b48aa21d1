"""The differential fuzzers' CI batches: 500 random programs with a fixed
seed, plain vs. compiled with forced deopts (`tests/fuzz/fuzz.py`; its long
mode runs 10 000 and more), and 200 programs rebinding the globals and
builtins compiled code burned in (`tests/fuzz/globals_fuzz.py`)."""

import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).with_name("fuzz") / "fuzz.py"
GLOBALS_FUZZ = Path(__file__).with_name("fuzz") / "globals_fuzz.py"


def test_fixed_seed_batch_agrees_with_the_interpreter(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(FUZZ), "--seed", "1", "--count", "500", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "500 programs, 0 divergences" in proc.stdout


def test_global_rebinding_batch_agrees_with_the_interpreter(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(GLOBALS_FUZZ), "--seed", "1", "--count", "200", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "200 programs, 0 divergences" in proc.stdout
