"""What ``tracekit collect`` prints: the profilers' USDT noise is dropped from stderr, every
other line goes through (from this process and from the commands it runs)."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = r"""
import os, subprocess, sys
from collectors.run import quiet_stderr
with quiet_stderr():
    os.write(2, b"USDT: probe ignored\nkept from the process\n")
    print("  USDT: indented noise", file=sys.stderr)
    subprocess.run([sys.executable, "-c",
                    "import sys; sys.stderr.write('USDT: child noise\\nkept from a child\\n')"])
print("after", file=sys.stderr)
"""


def test_usdt_lines_are_dropped_and_the_rest_kept():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines == ["kept from the process", "kept from a child", "after"]
