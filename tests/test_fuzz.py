"""The differential fuzzer's CI batch: 500 random programs with a fixed
seed, plain vs. compiled with forced deopts (`tests/fuzz/fuzz.py`; its long
mode runs 10 000 and more)."""

import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).with_name("fuzz") / "fuzz.py"


def test_fixed_seed_batch_agrees_with_the_interpreter(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(FUZZ), "--seed", "1", "--count", "500", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "500 programs, 0 divergences" in proc.stdout
