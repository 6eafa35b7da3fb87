"""tracekit says what is wrong with a broken JSON trace in its own words, decided from the
bytes, whatever the installed decoder's messages say."""
from __future__ import annotations

import gzip
import json
import random

import pytest

from parsers._io import is_cut_off, is_utf8, json_problem
from tests.conftest import corpus_file
from tests.test_bad_input import run_cli


@pytest.fixture(scope="module")
def small_trace() -> bytes:
    return gzip.decompress(corpus_file("cuda_event_sync__event_sync_trace").read_bytes())


def test_every_cut_inside_a_real_trace_is_cut_off(small_trace):
    rng = random.Random(7)
    body = small_trace.rstrip()
    for cut in rng.sample(range(1, len(body) - 1), 200):
        head = body[:cut]
        # the standard library agrees that the document is incomplete, not merely wrong
        with pytest.raises(json.JSONDecodeError):
            json.loads(head)
        assert json_problem(head) == "cut off", cut


def test_whole_trace_is_neither_cut_nor_bad(small_trace):
    assert is_utf8(small_trace) and not is_cut_off(small_trace)


def test_invalid_utf8_anywhere_is_named(small_trace):
    rng = random.Random(11)
    for _ in range(50):
        at = rng.randrange(len(small_trace))
        data = small_trace[:at] + b"\xff\xfe" + small_trace[at:]
        assert json_problem(data) == "not UTF-8"
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


def test_brackets_inside_names_do_not_count():
    assert not is_cut_off(b'{"a": "[[{{ \\" ]"}')
    assert is_cut_off(b'{"a": "]]}}", "b": [')
    assert json_problem(b'[1, 2,, 3]') == "malformed"


@pytest.mark.parametrize("data,words", [
    (b'{"traceEvents": [{"ph": "X", "name": "\xff\xfe"}]}', "not valid JSON (text is not UTF-8)"),
    (b'{"traceEvents": [{"ph": "X", "ts": 1,,}]}', "not valid JSON (a syntax error at line 1, column {col})"),
])
def test_cli_words_are_tracekits_own(tmp_path, data, words):
    path = tmp_path / "t.json"
    path.write_bytes(data)
    try:  # where the standard library places the error, 1-based
        json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        words = words.format(col=getattr(exc, "colno", None))
    result = run_cli("summary", path, "--no-cache")
    assert result.returncode == 2
    assert result.stderr.strip() == f"tracekit: error: {path}: {words}"
