"""``tracekit`` entry point: parse arguments, run a subcommand, turn user errors (any
:class:`~tracekit.model.errors.TracekitError`) into one line on stderr and their exit code
(2; never a traceback for a bad file)."""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from tracekit.cli import collect as collect_cmd
from tracekit.cli import compare as compare_cmd
from tracekit.cli import demo as demo_cmd
from tracekit.cli import export as export_cmd
from tracekit.cli import fallback as fallback_cmd
from tracekit.cli import fusion as fusion_cmd
from tracekit.cli import report as report_cmd
from tracekit.cli import summary as summary_cmd
from tracekit.cli import taxonomy as taxonomy_cmd
from tracekit.cli import tui as tui_cmd

EXIT_USAGE = 2
SUBCOMMANDS = {"demo": demo_cmd, "summary": summary_cmd, "compare": compare_cmd,
               "fallback": fallback_cmd, "fusion": fusion_cmd,
               "export": export_cmd, "collect": collect_cmd, "report": report_cmd,
               "taxonomy": taxonomy_cmd, "tui": tui_cmd}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracekit",
        description="Where inference time goes in GPU profiler traces: GEMM versus non-GEMM.")
    parser.add_argument("--version", action="version", version=_version())
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        sub = subs.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    warnings.showwarning = _show_warning
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("tracekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except MemoryError:  # also pyarrow's ArrowMemoryError: in loading or in the analysis
        if os.environ.get("TRACEKIT_DEBUG"):
            raise
        print(f"tracekit: error: {_one_line(_inputs(args))}: not enough memory for this trace "
              "(try a machine with more memory, or --step to analyse less)", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # user errors are one line; bugs keep their traceback
        # imported here: the model imports pandas, which --help and argument errors do not need
        from tracekit.model.errors import TracekitError

        if not isinstance(exc, TracekitError) or os.environ.get("TRACEKIT_DEBUG"):
            raise
        print(f"tracekit: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code


def _inputs(args) -> str:
    paths = getattr(args, "paths", None) or [getattr(args, "path", None) or "tracekit"]
    return ", ".join(map(str, paths))


def _one_line(text: str) -> str:
    from tracekit.safe_text import clean

    return clean(" ".join(text.split()), limit=500)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    from tracekit.model import TraceWarning

    if issubclass(category, TraceWarning):
        print(f"tracekit: warning: {_one_line(str(message))}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, filename, lineno, line),
              file=sys.stderr, end="")


def _quiet_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _version() -> str:
    from tracekit import __version__

    return f"tracekit {__version__}"


if __name__ == "__main__":
    sys.exit(main())
