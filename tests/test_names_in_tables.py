"""Names in tables: kernels by their base name (full name in --json), long names cut in
the middle keeping both ends, nothing wrapped mid-word at 80 columns."""
from __future__ import annotations

import json

from tests.conftest import corpus_file
from tests.test_bad_input import run_cli
from tracekit.model.names import kernel_base_name
from tracekit.safe_text import clean

RESNET = "resnet50_num_workers_0__worker0.1623143089861"


def _table_lines(text: str, title: str) -> list[str]:
    """The body rows of the table titled ``title`` (after its rule, up to the blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rule = next(i for i in range(start, len(lines)) if set(lines[i].strip()) == {"─"})
    end = next(i for i in range(rule, len(lines)) if not lines[i].strip())
    return lines[rule + 1:end]


def test_middle_cut_keeps_both_ends():
    name = "aten::max_pool2d_with_indices_backward"
    cut = clean(name, 20, middle=True)
    assert len(cut) == 20 and cut.startswith("aten::max") and cut.endswith("backward")
    assert clean(name, 60, middle=True) == name


def test_kernel_table_shows_base_names_one_line_each_at_80_columns(tmp_path):
    path = corpus_file(RESNET)
    doc = json.loads(run_cli("summary", path, "--by", "kernel", "--top", "8", "--json",
                             cache_dir=tmp_path).stdout)
    full = [r["name"] for r in doc["by"]["kernel"]]
    assert any(kernel_base_name(n) != n for n in full)  # JSON keeps the full names
    text = run_cli("summary", path, "--by", "kernel", "--top", "8", cache_dir=tmp_path, columns=80).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    rows = _table_lines(text, "Time by kernel")
    assert len(rows) == len(full)  # one line per row: no name wrapped onto a second line
    bases = [kernel_base_name(n) for n in full]
    # rows that share a base name are numbered in order
    labels = [b if bases.count(b) == 1 else f"{b} #{bases[:i + 1].count(b)}" for i, b in enumerate(bases)]
    for row, label in zip(rows, labels):
        shown = row.split("  ")[0].strip()
        pieces = shown.split("…")  # the kept parts, in order
        assert label.startswith(pieces[0]) and label.endswith(pieces[-1])
        assert all(piece in label for piece in pieces)


def test_long_op_names_are_cut_in_the_middle_not_wrapped(tmp_path):
    text = run_cli("summary", corpus_file(RESNET), cache_dir=tmp_path, columns=80).stdout
    rows = _table_lines(text, "Top non-GEMM ops")
    assert len(rows) == 10
    pool = next(r for r in rows if r.lstrip().startswith("aten::max"))
    assert "…" in pool and "backward" in pool.split("  ")[0]
    assert not any(line.strip() in ("ward", "nput", "eight") for line in text.splitlines())


def test_names_that_would_be_cut_alike_keep_where_they_differ(tmp_path):
    from tests.conftest import SAMPLES
    from tracekit.safe_text import distinct_cuts

    tail = "_execute_segment_k_off_kernel__5x_cublas"  # the two GEMM kernels of the demo trace
    a = "sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1" + tail
    b = "sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x256x64_warpgroupsize2x1x1" + tail
    cut_a, cut_b = distinct_cuts([a, b], 36)
    assert cut_a != cut_b and len(cut_a) == len(cut_b) == 36
    assert "128x128" in cut_a and "128x256" in cut_b
    text = run_cli("summary", SAMPLES / "decoder_h100.pt.trace.json.gz", "--by", "kernel",
                   cache_dir=tmp_path, columns=80).stdout
    rows = _table_lines(text, "Time by kernel")
    shown = [row.split("  ")[0].strip() for row in rows]
    assert len(set(shown)) == len(shown)  # every row reads differently
