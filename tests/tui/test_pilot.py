"""Behaviour of the TUI, driven with Textual's Pilot on real traces: navigation, sort,
filter, group-by, drill-down, picker, timeline span, help, export, quit, errors."""
from __future__ import annotations

import gzip
import io
import json

import pytest
from rich.console import Console

from tests.tui.conftest import wait_loaded


def run(coro):
    import asyncio

    return asyncio.run(coro)


def q_steps(app) -> list[int]:
    from tui import queries as q

    return q.window(app.trace, app.scope).steps


def screen_name(app) -> str:
    return type(app.screen).__name__


def section_text(app, sid: str) -> str:
    return app.screen.query_one(f"#{sid}").render().plain


def test_overview_then_navigation(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            assert app.error is None
            assert screen_name(app) == "OverviewScreen"
            gemm = section_text(app, "ov-gemm")
            assert "GEMM" in gemm and "non-GEMM" in gemm and "Amdahl" in gemm
            meta = section_text(app, "ov-meta")
            assert "decoder_h100.pt.trace.json.gz" in meta and "H100" in meta
            assert "GPU busy" in meta
            groups = section_text(app, "ov-groups")
            assert "Normalization" in groups
            assert "HtoD" in section_text(app, "ov-transfers")
            for key, name in [("2", "OperatorsScreen"), ("3", "KernelsScreen"),
                              ("4", "TransfersScreen"), ("5", "TimelineScreen"),
                              ("1", "OverviewScreen")]:
                await pilot.press(key)
                await pilot.pause()
                assert screen_name(app) == name
            await pilot.press("q")
        assert app.return_code == 0
        assert not app.is_running

    run(go())


def test_operators_sort_filter_groupby_drill(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("2")
            await pilot.pause()
            ops = app.screen
            assert ops.by == "op"
            totals = ops.view["total_ns"].tolist()
            assert totals == sorted(totals, reverse=True) and len(totals) > 3
            await pilot.press("s")  # sort by calls
            assert ops.sort_key == "calls"
            calls = ops.view["calls"].tolist()
            assert calls == sorted(calls, reverse=True)
            await pilot.press("S")
            assert ops.view["calls"].tolist() == sorted(calls)
            # search: "/" then type; rows narrow to matches
            await pilot.press("slash")
            await pilot.press(*"MM")
            await pilot.pause()
            assert len(ops.view) >= 1
            # a name or a group matches ("GEMM" holds "mm" too)
            assert all("mm" in n.lower() or "mm" in g.lower() for n, g in zip(ops.view["name"], ops.view["group"]))
            await pilot.press("enter")  # back to the table, filter kept
            assert ops.search == "MM"
            await pilot.press("escape")  # clears
            assert ops.search == "" and len(ops.view) > 3
            # group by cycles op -> node -> module (class) -> instance -> shape -> step -> group
            seen = []
            for _ in range(6):
                await pilot.press("g")
                seen.append(ops.by)
                if ops.by == "step":  # groups x steps: every step of the scope, by group
                    assert set(ops.view["name"]) == {f"step {s}" for s in q_steps(app)}
            assert seen == ["node", "module", "instance", "shape", "step", "group"]
            assert "Normalization" in set(ops.view["name"])
            # enter on a group row: its operators
            await pilot.press("escape")
            ops.sort_key, ops.descending = "total_ns", True
            ops.refilter()
            first_group = ops.view.iloc[0]["name"]
            await pilot.press("enter")
            await pilot.pause()
            assert ops.by == "op" and ops.group_filter == first_group
            assert set(ops.view["group"]) == {first_group}
            # enter on an op row: the drill-down
            op_name = ops.view.iloc[0]["name"]
            await pilot.press("enter")
            await pilot.pause()
            assert screen_name(app) == "DrillScreen"
            drill = app.screen.drill
            assert op_name in drill.title
            titles = [t for t, _ in drill.tables]
            assert titles[:3] == ["Kernels", "Module paths", "Input shapes"]
            assert len(drill.tables[0][1]) >= 1  # it launched kernels
            await pilot.press("escape")
            await pilot.pause()
            assert screen_name(app) == "OperatorsScreen"

    run(go())


def test_kernels_and_drill(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("3")
            await pilot.pause()
            k = app.screen
            assert {"name", "group", "op", "streams", "grid", "block", "bytes"} <= set(k.view.columns)
            assert k.view["share"].sum() == pytest.approx(1.0)
            await pilot.press("j", "k", "enter")
            await pilot.pause()
            assert screen_name(app) == "DrillScreen"
            assert app.screen.drill.title.startswith("kernel: ")
            await pilot.press("escape")

    run(go())


def test_picker_restricts_every_screen(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("2")
            await pilot.pause()
            before = int(app.screen.view["total_ns"].sum())
            await pilot.press("p")
            await pilot.pause()
            assert screen_name(app) == "PickerScreen"
            await pilot.press(*"Step#3")
            await pilot.pause()
            await pilot.press("enter")  # enter in the filter picks the first match
            await pilot.pause()
            assert app.scope.step == 3
            assert screen_name(app) == "OperatorsScreen"
            one_step = int(app.screen.view["total_ns"].sum())
            assert 0 < one_step < before
            await pilot.press("1")
            await pilot.pause()
            assert "step 3" in section_text(app, "ov-meta")
            # the picker cancels with escape and keeps the scope
            await pilot.press("p")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert app.scope.step == 3 and screen_name(app) == "OverviewScreen"

    run(go())


def test_timeline_span_filters_other_screens(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("5")
            await pilot.pause()
            view = app.screen.query_one("TimelineView")
            assert any(lane.label.startswith("GPU0") for lane in view.data.lanes)
            assert any(lane.label.startswith("tid") for lane in view.data.lanes)
            rendered = view.render().plain
            assert "cursor" in rendered
            lo0, hi0 = view.view_lo, view.view_hi
            await pilot.press("i")  # zoom in
            assert view.view_hi - view.view_lo < hi0 - lo0
            await pilot.press("L")  # pan
            await pilot.press("0")
            assert (view.view_lo, view.view_hi) == (lo0, hi0)
            await pilot.press("m", *["l"] * 15, "enter")
            await pilot.pause()
            assert app.scope.span is not None
            await pilot.press("2")
            await pilot.pause()
            spanned = int(app.screen.view["total_ns"].sum())
            await pilot.press("x")
            await pilot.pause()
            assert app.scope.span is None
            assert int(app.screen.view["total_ns"].sum()) > spanned

    run(go())


def test_help_lists_every_key(make_app, decoder):
    from tui.keys import KEYS

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
            assert screen_name(app) == "HelpScreen"
            out = io.StringIO()
            Console(file=out, width=120).print(app.screen.table)
            text = out.getvalue()
            for _, keys, what in KEYS:
                assert keys in text and what in text
            await pilot.press("escape")
            await pilot.pause()
            assert screen_name(app) == "OverviewScreen"

    run(go())
    wanted = {"/", "s / S", "g", "?", "q", "e", "p", "enter"}
    assert wanted <= {keys for _, keys, _ in KEYS}


def test_export(make_app, decoder, monkeypatch, tmp_path):
    import tracekit.export
    from tui import queries

    written = []

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("e")
            await pilot.pause()
            assert screen_name(app) == "ExportScreen"
            box = app.screen.query_one("Input")
            box.value = str(tmp_path / "out.pftrace")
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [str(n.message) for n in app._notifications]
            assert any("exported to" in n for n in notes), notes

    monkeypatch.setattr(tracekit.export, "export",
                        lambda trace, path, **kw: written.append((trace, path, kw)))
    run(go())
    assert len(written) == 1
    _trace, path, kw = written[0]
    assert path.endswith("out.pftrace")
    assert kw == {"window": queries.Scope()}  # the screens' own selection, ranges by id
    assert queries.window(_trace, kw["window"]).steps == [3, 4]  # warm-up step (2) dropped


@pytest.mark.parametrize("content,expect", [
    (b"this is not a trace", "not a trace format"),
    (None, "no such file"),
])
def test_bad_file_shows_a_message(make_app, tmp_path, content, expect):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)

    async def go():
        app = make_app(path)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_loaded(pilot)
            assert app.error and expect in app.error
            assert "Traceback" not in app.error
            assert screen_name(app) == "LoadingScreen"
            shown = app.screen.query_one("#loading-stage").render().plain
            assert "Could not open the trace" in shown and expect in shown
            await pilot.press("q")
        assert not app.is_running

    run(go())


def test_names_are_plain_text(make_app, tmp_path):
    """Escape sequences and rich markup in trace names are shown, not interpreted."""
    from tests.conftest import SAMPLES

    doc = json.loads((SAMPLES / "decoder_h100_legacy.pt.trace.json").read_text())
    evil = "aten::evil\x1b[31m[bold red]x[/bold red]"
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    for ev in events:
        if ev.get("name") == "aten::bmm":
            ev["name"] = evil
    path = tmp_path / "evil.pt.trace.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(doc, f)

    async def go():
        app = make_app(path, cache=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("2")
            await pilot.pause()
            table = app.screen.query_one("#table")
            cells = [table.get_row_at(i)[0] for i in range(table.row_count)]
            plains = [c.plain for c in cells]
            hit = [p for p in plains if "evil" in p]
            assert hit, plains
            assert "\x1b" not in hit[0] and "\\x1b" in hit[0] and "[bold red]" in hit[0]

    run(go())


def test_kernels_screen_shows_base_names_and_drills_into_the_full_name(make_app, decoder):
    from tracekit.model.names import kernel_base_name

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("3")
            await pilot.pause()
            k = app.screen
            assert list(k.view["base_name"]) == [kernel_base_name(n) for n in k.view["name"]]
            assert (k.view["base_name"] != k.view["name"]).any()
            table = k.query_one("#table")
            first = table.get_row_at(0)[0].plain
            full = str(k.view["name"].iloc[0])
            assert first == kernel_base_name(full) or "…" in first
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.drill.title == f"kernel: {full}"

    run(go())
