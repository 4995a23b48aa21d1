"""Validation of jitsaw's environment variables, shared by the CLI and the
start-up hook so a bad value fails early with the same message."""

import os
import sys


def check_environment():
    """Exits with status 2 and a clear message if a JITSAW_* value is invalid."""
    from jitsaw import _jitsaw

    try:
        _jitsaw.check_options()
    except ValueError as e:
        sys.stderr.write(f"jitsaw: error: {e}\n")
        sys.exit(2)
    value = os.environ.get("JITSAW", "")
    if value not in ("", "0", "1"):
        sys.stderr.write(f"jitsaw: error: JITSAW must be 1 (switch the JIT on) or 0 (off), got {value!r}\n")
        sys.exit(2)
