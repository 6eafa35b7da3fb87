"""Regenerate the example output in README.md from real runs, so that it stays true.

Each example is an HTML comment naming a tracekit command line, followed by a fenced block:

    <!-- example: summary "$(tracekit demo --path)" --by op --top 8 -->
    ```
    $ tracekit summary "$(tracekit demo --path)" --by op --top 8
    ...what that command prints at 100 columns...
    ```

``<!-- example: ARGS | from TEXT -->`` keeps the output from the first line holding TEXT
(one table of a long report). ``python docs/readme_examples.py`` rewrites every such block with what the command prints
now (on the trace bundled in the package, so anyone can run it); ``--check`` only says
whether README.md is up to date (exit 1 when not). tests/test_readme.py runs the check.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WIDTH = 100
DEMO = '"$(tracekit demo --path)"'
EXAMPLE = re.compile(r"(<!-- example: (?P<args>.+?) -->\n```\n)(?P<body>.*?)(```)", re.DOTALL)


def demo_path() -> str:
    sys.path.insert(0, str(ROOT))
    from tracekit.cli.demo import demo_path as path

    return path()


def run(args: str, cache_dir: str) -> str:
    """What ``tracekit ARGS`` prints at WIDTH columns, trailing spaces stripped."""
    argv = shlex.split(args.replace(DEMO, shlex.quote(demo_path())))
    env = dict(os.environ, COLUMNS=str(WIDTH), TRACEKIT_CACHE_DIR=cache_dir, NO_COLOR="1",
               TERM="dumb")
    done = subprocess.run([sys.executable, "-m", "tracekit.cli.main", *argv], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300, check=True)
    lines = [line.rstrip() for line in done.stdout.rstrip().splitlines()]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """README text with every example block holding its command's output now."""
    with tempfile.TemporaryDirectory(prefix="tracekit-readme-") as cache_dir:
        def block(m: re.Match) -> str:
            args, _, start = m.group("args").partition(" | from ")
            out = run(args, cache_dir)
            if start:
                lines = out.splitlines(keepends=True)
                out = "".join(lines[next(i for i, line in enumerate(lines) if start in line):])
            return m.group(1) + f"$ tracekit {args}\n" + out + m.group(4)

        return EXAMPLE.sub(block, text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md examples are out of date: run python docs/readme_examples.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md examples rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
