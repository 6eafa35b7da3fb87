"""The README is true and self-contained: its example output is what the commands print now
(docs/readme_examples.py regenerates it), its Quick start is what CI runs, it points at
nothing outside the repository, and its lists match the code."""
from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT
from tracekit.model.vocab import LINKS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_example_output_is_what_the_commands_print_now():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "docs" / "readme_examples.py")
    examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(examples)
    assert len(examples.EXAMPLE.findall(README)) >= 4
    assert examples.render(README) == README, "run: python docs/readme_examples.py"


def test_example_tables_fit_and_wrap_no_name():
    blocks = re.findall(r"<!-- example: .*? -->\n```\n(.*?)```", README, re.DOTALL)
    for block in blocks:
        for line in block.splitlines():
            assert len(line) <= 100, line
    rows = [line for b in blocks for line in b.splitlines() if line.startswith(" ") and "%" in line]
    assert rows and all(re.search(r"\d", line) for line in rows)  # no row is a wrapped name's tail


def test_quick_start_is_what_ci_runs():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)\n```", quick, re.DOTALL)
    assert len(blocks) == 2
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert ci == blocks
    assert "tracekit demo" in blocks[0] and "pytest" in blocks[1]


def test_nothing_outside_the_repository():
    assert "../shared" not in README and "shared/corpus" not in README
    assert not re.search(r"https?://", README)
    for target in re.findall(r"\]\(([^)]+)\)", README):
        assert (ROOT / target).exists(), target


def test_lists_match_the_code():
    links = README.split("(`link`:", 1)[1].split(")", 1)[0]
    named = re.findall(r"`(\w+)`", links)
    assert sorted(named) == sorted(LINKS) and len(named) == len(LINKS)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    mentioned = set(re.findall(r'pip install -e "\.\[(\w+)\]"', README))
    assert mentioned == set(extras)
    assert 'pip install -e .`' in README  # analysis only
