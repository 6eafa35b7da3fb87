"""Dependencies point one way (docs/design.md): model <- taxonomy <- analysis; parsers import the
model only; nothing but the facade wires parsers in."""
from __future__ import annotations

import subprocess
import sys

import pytest


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def top_level(modules) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("statement,forbidden", [
    ("import tracekit.model", {"tracekit.taxonomy", "tracekit.analysis", "parsers", "tui", "textual", "rich"}),
    ("import tracekit.taxonomy.apply", {"tracekit.analysis", "parsers", "tui", "textual"}),
    ("import tracekit.analysis", {"parsers", "tui", "textual", "collectors"}),
    ("import parsers.kineto", {"tracekit.analysis", "tracekit.taxonomy", "tracekit.api", "tui", "textual", "collectors"}),
    ("import tracekit", {"parsers", "tui", "textual", "collectors"}),
    *[(f"import parsers.{name}", {"tracekit.analysis", "tracekit.taxonomy", "tracekit.api", "tui",
                                  "textual", "collectors"})
      for name in ("tensorrt", "nsys", "onnxruntime", "_shared")],
    ("import parsers", {"tracekit.analysis", "tracekit.taxonomy", "tui", "textual", "collectors"}),
])
def test_dependency_direction(statement, forbidden):
    loaded = imported_after(statement)
    bad = {m for m in loaded for f in forbidden if m == f or m.startswith(f + ".")}
    assert not bad, f"{statement!r} imports {sorted(bad)}"


def test_packages_of_the_distribution_import():
    for name in ("tracekit", "parsers", "collectors", "tui", "tracekit.cli.main"):
        __import__(name)
