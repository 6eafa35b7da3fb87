"""The checks CI holds the code to: ruff (pyflakes, isort, bugbear) over the repository and
mypy over tracekit.model and tracekit.analysis, configured in pyproject.toml. They run here
because CI runs only the test suite."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the tools the [test] extra installs next to this interpreter (the venv's bin/)
BIN = Path(sys.executable).parent


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / name
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install the test extra (pip install -e '.[test]' -c constraints.txt)")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    out = run_tool("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    if out.returncode != 0:
        pytest.fail(f"ruff check . found problems:\n{out.stdout}{out.stderr}", pytrace=False)


def test_mypy_finds_nothing():
    # /dev/null as cache: nothing written into the checkout
    out = run_tool("mypy", "--cache-dir", "/dev/null", "tracekit/model", "tracekit/analysis")
    if out.returncode != 0 or "Success" not in out.stdout:
        pytest.fail(f"mypy tracekit/model tracekit/analysis found problems:\n{out.stdout}{out.stderr}",
                    pytrace=False)


def test_ruff_sees_a_planted_problem(tmp_path):
    """The configuration really selects the three rule sets: an unused import (pyflakes),
    unsorted imports (isort) and a mutable default argument (bugbear) are each reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\n\ndef f(x=[]):\n    return x\n")
    out = run_tool("ruff", "check", "--no-cache", "--output-format", "concise",
                   "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert out.returncode == 1, out.stdout + out.stderr
    for code in ("F401", "I001", "B006"):
        assert code in out.stdout, f"{code} not reported:\n{out.stdout}"
