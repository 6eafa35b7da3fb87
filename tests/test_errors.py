"""One error root: every user error is a TracekitError, which the CLI prints as one line
and turns into its exit code; anything else is a bug and keeps its traceback. The CLI's
argument helpers are shared by every command and parsing arguments loads no pandas."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings

import pytest

from tests.conftest import ROOT, SAMPLES
from tracekit.cli import main as cli_main
from tracekit.model import TraceError, TracekitError

DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"


def error_classes() -> dict[str, type]:
    """Every exception class defined in tracekit's packages, found in the source (so a new
    one cannot be left out of this test)."""
    found = {}
    for package in ("tracekit", "parsers", "collectors", "tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in getattr(node, "bases", [])]
                if isinstance(node, ast.ClassDef) and any(b.endswith(("Error", "Exception"))
                                                          for b in bases):
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    module = module.removesuffix(".__init__")
                    found[f"{module}.{node.name}"] = (module, node.name)
    out = {}
    for key, (module, name) in found.items():
        if module.startswith("tui"):
            pytest.importorskip("textual")
        out[key] = getattr(importlib.import_module(module), name)
    return out


def test_every_error_class_is_a_tracekit_error():
    classes = error_classes()
    # the five the CLI and the TUI used to list one by one are all found here
    names = {cls.__name__ for cls in classes.values()}
    assert {"TraceError", "ExportError", "CollectError", "TaxonomyError", "StepError"} <= names
    for key, cls in classes.items():
        if cls is TracekitError:
            continue
        assert issubclass(cls, TracekitError), key
        assert cls.exit_code == 2, key
    # their messages are one line naming the subject first, whatever the class
    from collectors.run import CollectError
    from tracekit.export import ExportError

    for cls in (TraceError, ExportError, CollectError):
        err = cls("some/path.json", "the problem")
        assert str(err) == "some/path.json: the problem"


def _cases(tmp_path):
    from collectors.run import CollectError
    from tracekit.analysis import StepError
    from tracekit.export import ExportError
    from tracekit.taxonomy import TaxonomyError

    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a trace\n")
    absent = tmp_path / "absent.toml"
    return [
        (TraceError, ["summary", str(text), "--no-cache"], str(text), "not a trace format"),
        (ExportError, ["export", str(DECODER), "-o", str(tmp_path / "out.xyz")],
         str(tmp_path / "out.xyz"), "unknown output format"),
        (CollectError, ["collect"], "collect", "name a collector"),
        (TaxonomyError, ["taxonomy", "--taxonomy", str(absent)], str(absent), "no such file"),
        (StepError, ["summary", str(DECODER), "--step", "12345"], "step 12345",
         "is not in the trace"),
    ]


@pytest.mark.parametrize("which", ["TraceError", "ExportError", "CollectError", "TaxonomyError",
                                   "StepError"])
def test_cli_maps_each_user_error_to_one_line_and_its_exit_code(which, tmp_path, cache_dir,
                                                                 monkeypatch, capsys):
    cls, argv, subject, problem = next(c for c in _cases(tmp_path) if c[0].__name__ == which)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    monkeypatch.setenv("TRACEKIT_CACHE_DIR", str(cache_dir))

    # with TRACEKIT_DEBUG the error surfaces: it is this class, under the root
    monkeypatch.setenv("TRACEKIT_DEBUG", "1")
    with pytest.raises(TracekitError) as info:
        cli_main.main(argv)
    assert type(info.value) is cls
    capsys.readouterr()

    monkeypatch.delenv("TRACEKIT_DEBUG")
    assert cli_main.main(argv) == cls.exit_code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tracekit: error: ")
    assert subject in lines[0] and problem in lines[0], lines[0]
    assert "Traceback" not in err
    assert out == ""


def test_the_exit_code_comes_from_the_class(monkeypatch, capsys):
    from tracekit.cli import summary as summary_cmd

    class Interrupted(TracekitError):
        exit_code = 3

    def run(args):
        raise Interrupted("stopped on purpose")

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(summary_cmd, "run", run)
    assert cli_main.main(["summary", "any.json"]) == 3
    assert capsys.readouterr().err == "tracekit: error: stopped on purpose\n"


def test_a_bug_keeps_its_traceback(tmp_path):
    """A plain exception is not a user error: Python's traceback, exit code 1."""
    code = ("import sys\n"
            "from tracekit.cli import main, summary\n"
            "def run(args):\n"
            "    raise ZeroDivisionError('a bug in a command')\n"
            "summary.run = run\n"
            "sys.exit(main.main(['summary', 'any.json']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().endswith("ZeroDivisionError: a bug in a command")
    assert "tracekit: error" not in result.stderr


# ---------------------------------------------------------------- one CLI toolkit

LOADING = {"--taxonomy": "t.toml", "--cache-dir": "cache", "--layers": "l.json",
           "--capture": "c.json", "--max-size": "1.5G", "--onnx": "m.onnx"}


@pytest.mark.parametrize("command,argv", [
    ("summary", ["a.json"]), ("fallback", ["a.json"]), ("fusion", ["a.json"]),
    ("export", ["a.json", "-o", "b.pftrace"]), ("tui", ["a.json"]),
])
def test_every_loading_command_takes_every_loading_option(command, argv):
    from tracekit.cli.common import loading_options

    flags = [x for pair in LOADING.items() for x in pair] + ["--no-cache"]
    args = cli_main.build_parser().parse_args([command, *argv, *flags])
    assert loading_options(args) == {"taxonomy": "t.toml", "cache": False, "cache_dir": "cache",
                                     "layers": "l.json", "capture": "c.json",
                                     "max_size": int(1.5 * 2**30), "onnx": "m.onnx"}


@pytest.mark.parametrize("command,argv", [
    ("summary", ["a.json"]), ("fallback", ["a.json"]), ("fusion", ["a.json"]),
])
def test_top_must_be_positive_everywhere(command, argv, capsys):
    parser = cli_main.build_parser()
    assert parser.parse_args([command, *argv, "--top", "3"]).top == 3
    for bad in ("0", "-1"):
        with pytest.raises(SystemExit) as info:
            parser.parse_args([command, *argv, "--top", bad])
        assert info.value.code == 2
        assert "must be at least 1" in capsys.readouterr().err


def test_export_table_names_are_the_vocabulary():
    from tracekit.cli import export as export_cmd
    from tracekit.model.vocab import TABLES

    assert export_cmd.TABLES == TABLES


def test_parsing_arguments_loads_neither_pandas_nor_rich():
    code = ("import sys\n"
            "from tracekit.cli.main import build_parser\n"
            "p = build_parser()\n"
            "for argv in (['summary', 'a.json'], ['export', 'a', '-o', 'b.csv'], ['taxonomy'],"
            " ['fallback', 'a'], ['fusion', 'a'], ['tui', 'a'], ['demo']):\n"
            "    p.parse_args(argv)\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=True)
    loaded = set(result.stdout.split())
    assert "tracekit" in loaded
    assert not loaded & {"pandas", "numpy", "pyarrow", "rich", "textual"}, loaded
