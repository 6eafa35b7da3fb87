"""``tracekit tui TRACE``: a Textual app over one loaded trace.

The app loads the trace in a worker while a loading screen shows progress, then offers
five screens as modes (Overview, Operators, Kernels, Transfers, Timeline) plus modal
dialogs (step/range picker, help, export). The app owns the scope (which step, range or
time span everything shows) and hands it down to screens; screens and widgets send
messages up (e.g. SpanSelected from the timeline).
"""
from __future__ import annotations

import os
import threading

from textual import work
from textual.app import App
from textual.screen import ModalScreen

from tracekit.safe_text import clean
from tui import keys, loader
from tui import queries as q
from tui.messages import LoadFailed, OverviewPreview, SpanSelected, TraceLoaded
from tui.screens.base import TraceScreen
from tui.screens.loading import LoadingScreen


class TracekitApp(App):
    CSS_PATH = "styles/app.tcss"
    TITLE = "tracekit"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = keys.bindings("app")

    def __init__(self, path: str, *, cache: bool = True, cache_dir=None, taxonomy=None,
                 step=None, layers=None, capture=None, max_size=None, onnx=None) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.cache = cache
        self.cache_dir = cache_dir
        self.taxonomy = taxonomy
        # the rest of tracekit.load's options, passed on as given (see cli.summary)
        self.load_options = {"layers": layers, "capture": capture, "max_size": max_size,
                             "onnx": onnx}
        self.scope = q.Scope(step=step)
        self.trace = None
        self.error: str | None = None
        self._pending_mode: str | None = None  # asked for while the preview showed
        self._preview = None  # the overview screen showing the last session's numbers
        self._preview_drawn = threading.Event()
        self.sub_title = clean(os.path.basename(self.path))

    # loading ------------------------------------------------------------------
    def on_mount(self) -> None:
        self.add_mode("loading", lambda: LoadingScreen(self.path))
        self.switch_mode("loading")
        self.load_trace()

    @work(thread=True, exclusive=True, group="load")
    def load_trace(self) -> None:
        def stage(text: str) -> None:
            self.call_from_thread(self._stage, text)

        preview = loader.preview(self.path, cache=self.cache, cache_dir=self.cache_dir,
                                 taxonomy=self.taxonomy, scope=self.scope, **self.load_options)
        if preview is not None:  # the last session's first screen, while this one loads
            self.post_message(OverviewPreview(preview))
            # let the UI thread draw it before the load takes the interpreter lock
            self._preview_drawn.wait(2.0)
        try:
            trace, overview = loader.load(self.path, cache=self.cache, cache_dir=self.cache_dir,
                                          taxonomy=self.taxonomy, scope=self.scope, stage=stage,
                                          **self.load_options)
        except Exception as exc:  # shown as a message, never a traceback
            self.post_message(LoadFailed(loader.error_text(exc)))
            return
        self.post_message(TraceLoaded(trace, overview))

    def _stage(self, text: str) -> None:
        if isinstance(self.screen, LoadingScreen):
            self.screen.stage(text)

    def on_overview_preview(self, message: OverviewPreview) -> None:
        from tui.screens.overview import OverviewScreen

        if self.trace is None and self.error is None and isinstance(self.screen, LoadingScreen):
            # the preview becomes the overview mode's screen and is handed the trace once
            # it is in: a screen is never removed while it may still be mounting
            self._preview = preview = OverviewScreen(None, self.scope, message.overview)
            self.add_mode("overview", lambda: preview)
            self.switch_mode("overview")
            self.call_after_refresh(self._preview_drawn.set)
        else:
            self._preview_drawn.set()

    def _leave_preview(self) -> None:
        if self._previewing():
            self.switch_mode("loading")  # which shows why

    def on_load_failed(self, message: LoadFailed) -> None:
        self._leave_preview()
        self.error = message.text
        if isinstance(self.screen, LoadingScreen):
            self.screen.fail(message.text)

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        from tui.screens.kernels import KernelsScreen
        from tui.screens.operators import OperatorsScreen
        from tui.screens.overview import OverviewScreen
        from tui.screens.timeline import TimelineScreen
        from tui.screens.transfers import TransfersScreen

        self.trace = trace = message.trace
        first = message.overview
        if self._preview is not None:
            self._preview.show_trace(trace, first)
            self.refresh_bindings()  # the same screen now allows what needs the trace
        else:
            self.add_mode("overview", lambda: OverviewScreen(trace, self.scope, first))
        self.add_mode("operators", lambda: OperatorsScreen(trace, self.scope))
        self.add_mode("kernels", lambda: KernelsScreen(trace, self.scope))
        self.add_mode("transfers", lambda: TransfersScreen(trace, self.scope))
        self.add_mode("timeline", lambda: TimelineScreen(trace, self.scope))
        self.switch_mode("overview")
        pending, self._pending_mode = self._pending_mode, None
        if pending and pending != "overview":
            self.switch_mode(pending)

    # navigation ---------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "show" and self._previewing():
            return True  # kept for when the trace is in (see action_show)
        if action in ("show", "picker", "export", "clear_span"):
            if self.trace is None or isinstance(self.screen, ModalScreen):
                return False
        return True

    def _previewing(self) -> bool:
        return self.trace is None and isinstance(self.screen, TraceScreen) and self.screen.trace is None

    def action_show(self, mode: str) -> None:
        if self._previewing():  # a screen asked for during the preview opens once loaded
            self._pending_mode = mode
            return
        if self.current_mode == mode:
            while len(self.screen_stack) > 1:  # close a drill-down
                self.pop_screen()
            return
        self.switch_mode(mode)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, ModalScreen):
            self.push_screen(HelpScreen())

    # scope ----------------------------------------------------------------------
    def set_scope(self, scope: q.Scope) -> None:
        try:
            q.window(self.trace, scope)
        except Exception as exc:
            self.notify(loader.error_text(exc), severity="error", markup=False)
            return
        self.scope = scope
        if isinstance(self.screen, TraceScreen):
            self.screen.set_scope(scope)
        self.notify(clean("showing " + q.describe(self.trace, scope, q.window(self.trace, scope))),
                    timeout=3, markup=False)

    def action_picker(self) -> None:
        from tui.screens.picker import PickerScreen

        def picked(value) -> None:
            if value is None:
                return
            if value[0] == "step":
                self.set_scope(self.scope.with_step(value[1]))
            else:
                self.set_scope(self.scope.with_range(value[1], value[2]))

        self.push_screen(PickerScreen(q.pick_options(self.trace)), picked)

    def on_span_selected(self, message: SpanSelected) -> None:
        self.set_scope(self.scope.with_span(message.span))

    def action_clear_span(self) -> None:
        if self.scope.span is not None:
            self.set_scope(self.scope.with_span(None))

    # export -----------------------------------------------------------------------
    def action_export(self) -> None:
        from tui.screens.export import ExportScreen

        stem = os.path.basename(self.path).split(".")[0] or "trace"
        what = q.describe(self.trace, self.scope, q.window(self.trace, self.scope))

        def chosen(path) -> None:
            if path:
                self.export_to(path)

        self.push_screen(ExportScreen(f"{stem}.selection.pftrace", what), chosen)

    @work(thread=True, group="export")
    def export_to(self, path: str) -> None:
        try:
            q.export_selection(self.trace, self.scope, path)
        except Exception as exc:
            self.call_from_thread(self.notify, clean(loader.error_text(exc)), severity="error",
                                  markup=False)
            return
        self.call_from_thread(self.notify, clean(f"exported to {os.path.abspath(path)}"), markup=False)


def run(path: str, **kw) -> int:
    app = TracekitApp(path, **kw)
    app.run()
    return 2 if app.error else 0
