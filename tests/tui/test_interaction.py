"""The TUI's smaller interactions, driven with Pilot on the bundled decoder trace: help at
80x24 says there is more and scrolls, "/" finds a group as well as a name, enter in the
picker's filter picks the first match, the export notice names the file absolutely,
drill-downs give GPU time per call, and a screen closed while it is still mounting does
not end the app."""
from __future__ import annotations

import os

from tests.tui.conftest import wait_loaded
from tests.tui.test_pilot import run, screen_name


def test_help_at_80x24_scrolls_with_a_hint(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
            help_screen = app.screen
            body = help_screen.query_one("#help")
            hint = help_screen.query_one("#help-more")
            assert body.max_scroll_y > 0  # 80x24 does not hold every key
            assert "more keys below" in str(hint.render())
            await pilot.press("end")
            await pilot.pause()
            assert body.scroll_y == body.max_scroll_y
            assert str(hint.render()).strip() == ""
            await pilot.press("escape")
            await pilot.pause()
            assert screen_name(app) == "OverviewScreen"

    run(go())


def test_search_finds_group_names_too(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("2", "slash", *"softmax")
            await pilot.pause()
            view = app.screen.view
            names, groups = view["name"].astype(str).str.lower(), view["group"].astype(str).str.lower()
            assert len(view) and ((names.str.contains("softmax")) | (groups == "softmax")).all()
            assert (~names.str.contains("softmax") & (groups == "softmax")).any()  # by group only

    run(go())


def test_enter_in_the_picker_filter_picks_the_first_match(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("p", *"Step#4", "enter")
            await pilot.pause()
            assert app.scope.step == 4 and screen_name(app) == "OverviewScreen"

    run(go())


def test_export_notice_names_the_absolute_path(make_app, decoder, monkeypatch, tmp_path):
    import tracekit.export

    monkeypatch.setattr(tracekit.export, "export", lambda trace, path, **kw: None)
    monkeypatch.chdir(tmp_path)

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("e")
            await pilot.pause()
            app.screen.query_one("Input").value = "out.pftrace"
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            notes = [str(n.message) for n in app._notifications]
            assert f"exported to {os.path.join(str(tmp_path), 'out.pftrace')}" in notes, notes

    run(go())


def test_op_drill_gives_gpu_time_per_call(make_app, decoder):
    from tracekit import analysis
    from tracekit.report import fmt

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("2", "enter")
            await pilot.pause()
            drill = app.screen.drill
            row = analysis.row_calls(app.trace, analysis.select(app.trace, app.scope), "op",
                                     drill.title.split(": ", 1)[1])
            per_call = fmt.duration(row.device_ns / len(row.calls))
            assert f"({per_call} GPU time per call)" in drill.lines[0]
            calls = dict(drill.tables)[next(t for t, _ in drill.tables if t.startswith("Calls"))]
            gpu = analysis.select(app.trace, app.scope).kernels.groupby("op")["dur_ns"].sum()
            assert list(calls["gpu_ns"]) == [int(gpu.get(i, 0)) for i in row.calls["id"]][:len(calls)]

    run(go())


def test_overview_group_opens_its_ops_and_an_op_its_kernels(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_loaded(pilot)
            ov = app.screen.ov
            first_group = str(ov.groups["name"].iloc[0])
            await pilot.press("j")
            await pilot.pause()
            assert app.screen.selected("group") == first_group
            groups_text = app.screen.query_one("#ov-groups").render()
            line = next(s for s in groups_text.split("\n") if first_group in s.plain)
            assert any("reverse" in str(span.style) for span in line.spans)
            await pilot.press("enter")
            await pilot.pause()
            ops = app.screen
            assert screen_name(app) == "OperatorsScreen" and ops.by == "op"
            assert ops.group_filter == first_group and set(ops.view["group"]) == {first_group}
            await pilot.press("1", "k")  # back; k from nothing selected: the last top operator
            await pilot.pause()
            last_op = str(app.screen.ov.top_non_gemm["name"].iloc[-1])
            assert app.screen.selected("op") == last_op
            await pilot.press("enter")
            await pilot.pause()
            assert screen_name(app) == "DrillScreen"
            drill = app.screen.drill
            assert drill.title == f"op: {last_op}" and drill.tables[0][0] == "Kernels"
            assert len(drill.tables[0][1]) >= 1

    run(go())


def test_timeline_highlights_one_group_and_the_cursor_names_op_and_module(make_app, decoder):
    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("5")
            await pilot.pause()
            view = app.screen.query_one("TimelineView")
            # a kernel whose launching op lies in a module, and the op and module the trace gives it
            trace = app.trace
            lane_i, lane = next((i, lane) for i, lane in enumerate(view.data.lanes)
                                if lane.label.startswith("GPU"))
            k = trace.kernels
            j = next(j for j in range(len(lane.start)) if lane.modules[j])
            row = k[(k["ts_ns"] == lane.start[j]) & (k["name"].astype(str) == lane.names[j])].iloc[0]
            op = trace.ops.iloc[int(row["op"])]
            assert lane.ops[j] == str(op["name"]) and lane.modules[j] == str(op["module"])
            view.lane_index = lane_i
            view.action_zoom(0.001)
            view.view_lo = int(lane.start[j]) - 1000
            view.view_hi = view.view_lo + 100_000
            view.cursor = view.col_of((int(lane.start[j]) + int(lane.end[j])) // 2)
            text = view.render().plain
            assert f"op {op['name']}" in text
            assert str(op["module"]).rsplit(".", 1)[-1] in text.split("module ", 1)[1]
            # g: one group in colour, the others dimmed; after the last group, all again
            await pilot.press("0", "g")
            present = [view.data.groups[c] for c in
                       sorted({int(c) for ln in view.data.lanes for c in set(ln.group.tolist())})]
            assert view.highlight == present[0]
            assert "░" in view.render().plain
            for _ in present:
                await pilot.press("g")
            assert view.highlight is None and "░" not in view.render().plain

    run(go())


def test_overview_of_a_microsecond_trace_reads_in_microseconds(make_app, tmp_path):
    import json

    events = [{"ph": "X", "cat": "cpu_op", "name": "aten::relu", "pid": 1, "tid": 1, "ts": 0, "dur": 10},
              {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1,
               "ts": 1, "dur": 4, "args": {"correlation": 7}},
              {"ph": "X", "cat": "kernel", "name": "relu_kernel", "pid": 0, "tid": 7, "ts": 6,
               "dur": 3, "args": {"device": 0, "stream": 7, "correlation": 7}}]
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"traceEvents": events}))

    async def go():
        app = make_app(path)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_loaded(pilot)
            groups = str(app.screen.query_one("#ov-groups").render())
            gemm = str(app.screen.query_one("#ov-gemm").render())
            assert "3.0 µs" in groups and "0.00 ms" not in groups + gemm

    run(go())


def test_outlier_step_first_on_the_overview_and_a_step_row_opens_that_step(make_app, tmp_path):
    from tests.test_steps import write_outlier_trace

    path = tmp_path / "outlier.json"
    write_outlier_trace(path)

    async def go():
        app = make_app(path)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            assert app.screen.ov.warnings[0].startswith("step 3 is an outlier")
            assert "step 3 is an outlier" in str(app.screen.query_one("#ov-meta").render())
            await pilot.press("2", *["g"] * 5)  # op -> node -> module -> instance -> shape -> step
            await pilot.pause()
            ops = app.screen
            assert ops.by == "step"
            assert list(ops.view.sort_values("name")["name"]) == ["step 2", "step 3", "step 4", "step 5"]
            ops.sort_key, ops.descending = "total_ns", True
            ops.refilter()
            await pilot.press("enter")  # the largest: step 3
            await pilot.pause()
            assert app.scope.step == 3 and ops.by == "op" and ops.group_filter == "Activation"
            assert int(ops.view["total_ns"].sum()) == 94_000

    run(go())


def test_tensorrt_overview_counts_layers_and_names_the_metadata_device(make_app, tmp_path):
    import json
    import shutil

    import pytest

    from tests.conftest import CORPUS

    stem = ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__resnet"
            "__A100__fp16__resnet.onnx.engine")
    profile = CORPUS / "tensorrt" / f"{stem}.profile.json"
    if not profile.is_file():
        pytest.skip(f"corpus TensorRT profile not found at {profile}")
    for suffix in ("profile.json", "graph.json"):
        shutil.copy(CORPUS / "tensorrt" / f"{stem}.{suffix}", tmp_path / f"{stem}.{suffix}")
    (tmp_path / f"{stem}.metadata.json").write_text(
        json.dumps({"device_information": {"Name": "NVIDIA A100-SXM4-40GB"}}))
    layers = len(json.loads(profile.read_text())) - 1  # the first record is the run count

    async def go():
        app = make_app(tmp_path / f"{stem}.profile.json")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(pilot)
            meta = str(app.screen.query_one("#ov-meta").render())
            assert "device: 1× NVIDIA A100-SXM4-40GB" in meta
            assert f"{layers} layers" in meta and "GPU activit" not in meta

    run(go())


def test_screens_closed_while_still_mounting_leave_the_app_running(make_app, decoder):
    """Enter then escape in one burst of keys: the screen is popped after 0..N turns of the
    event loop, so at some point while its header and its own mount handler are pending."""
    import asyncio

    from tui import queries as q
    from tui.screens.drill import DrillScreen
    from tui.screens.export import ExportScreen
    from tui.screens.help import HelpScreen
    from tui.screens.picker import PickerScreen

    async def go():
        app = make_app(decoder)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            op = q.op_table(app.trace, app.scope, "op").iloc[0]["name"]
            screens = [lambda: DrillScreen(q.drill(app.trace, app.scope, "op", {"name": op})),
                       HelpScreen, lambda: PickerScreen(q.pick_options(app.trace)),
                       lambda: ExportScreen("x.pftrace", "everything")]
            for make in screens:
                for turns in range(16):
                    app.push_screen(make())
                    for _ in range(turns):
                        await asyncio.sleep(0)
                    app.pop_screen()
                    await pilot.pause()
            await pilot.pause(0.2)
            assert app.is_running and screen_name(app) == "OverviewScreen"
            await pilot.press("2", "enter")  # and the same screens still work when left open
            await pilot.pause()
            assert screen_name(app) == "DrillScreen" and app.screen.query("VimTable")

    run(go())
