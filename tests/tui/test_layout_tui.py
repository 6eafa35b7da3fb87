"""The TUI imports tracekit, never a parser (docs/design.md); parsers come in only through
tracekit.load when a trace is opened."""
from __future__ import annotations

import subprocess
import sys


def test_tui_imports_no_parser():
    code = ("import sys; import tui.app, tui.queries, tui.screens.overview, tui.screens.operators, "
            "tui.screens.kernels, tui.screens.transfers, tui.screens.timeline, tui.screens.picker, "
            "tui.screens.help, tui.screens.export, tui.screens.drill, tracekit.cli.tui; "
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not {m for m in loaded if m == "parsers" or m.startswith("parsers.")}
    assert not {m for m in loaded if m.startswith("collectors")}


def test_cli_module_shape():
    import argparse

    from tracekit.cli import tui as tui_cmd

    assert isinstance(tui_cmd.HELP, str) and callable(tui_cmd.run)
    p = argparse.ArgumentParser()
    tui_cmd.add_arguments(p)
    args = p.parse_args(["run.json", "--step", "3", "--no-cache"])
    assert args.path == "run.json" and args.step == "3" and args.no_cache
