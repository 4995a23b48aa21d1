"""Switches jitsaw on at interpreter start-up when ``JITSAW`` is set.

Imported by the ``jitsaw.pth`` file the package installs, and only when
``JITSAW`` is non-empty, so ordinary start-up pays nothing.
"""

import os
import sys


def _fail(message):
    sys.stderr.write(f"jitsaw: error: {message}\n")
    sys.stderr.flush()
    os._exit(2)


def _autoload():
    value = os.environ.get("JITSAW", "")
    if value == "0":
        return
    if value != "1":
        _fail(f"JITSAW must be 1 (switch the JIT on) or 0 (off), got {value!r}")
    try:
        import jitsaw

        jitsaw.enable()
    except (ImportError, ValueError, RuntimeError) as e:
        _fail(str(e))


_autoload()
