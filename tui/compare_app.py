"""``tracekit tui A B ...``: the compare screen over 2..N traces.

The traces load in a worker behind the loading screen; the comparison by group and by
operator is computed there too, so the UI thread only draws."""
from __future__ import annotations

import os
import warnings

from textual import work
from textual.app import App
from textual.screen import ModalScreen

from tracekit.safe_text import clean
from tui import keys, loader
from tui.messages import Compared, LoadFailed
from tui.screens.loading import LoadingScreen


class CompareApp(App):
    CSS_PATH = "styles/app.tcss"
    TITLE = "tracekit compare"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = keys.bindings("compare_app")

    def __init__(self, paths, *, labels=None, step=None, cache: bool = True, cache_dir=None,
                 taxonomy=None, **options) -> None:
        super().__init__()
        self.paths = [os.fspath(p) for p in paths]
        self.labels = labels
        self.step = step
        self.load_options = {"cache": cache, "cache_dir": cache_dir, "taxonomy": taxonomy,
                             **{k: v for k, v in options.items() if v is not None}}
        self.comparison = None
        self.error: str | None = None
        self.sub_title = clean(" vs ".join(os.path.basename(p) for p in self.paths), limit=120)

    def on_mount(self) -> None:
        self.push_screen(LoadingScreen(self.paths[0]))
        self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        import tracekit
        from tracekit.analysis.compare import compare

        try:
            traces = []
            for i, path in enumerate(self.paths):
                self.call_from_thread(self._stage, f"reading trace {i + 1} of {len(self.paths)}: "
                                      f"{clean(os.path.basename(path))}…")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # printed they would tear the screen
                    traces.extend(tracekit.load_all(path, **self.load_options))
            self.call_from_thread(self._stage, "matching groups and operators…")
            groups = compare(traces, labels=self.labels, by="group", step=self.step)
            ops = compare(traces, labels=self.labels, by="op", step=self.step)
        except Exception as exc:  # shown as a message, never a traceback
            self.post_message(LoadFailed(loader.error_text(exc)))
            return
        self.post_message(Compared(groups, ops))

    def _stage(self, text: str) -> None:
        if isinstance(self.screen, LoadingScreen):
            self.screen.stage(text)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.error = message.text
        if isinstance(self.screen, LoadingScreen):
            self.screen.fail(message.text)

    def on_compared(self, message: Compared) -> None:
        from tui.screens.compare import CompareScreen

        self.comparison = message.groups
        self.switch_screen(CompareScreen(message.groups, message.ops))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, ModalScreen):
            self.push_screen(HelpScreen())


def run(paths, **kw) -> int:
    app = CompareApp(paths, **kw)
    app.run()
    return 2 if app.error else 0
