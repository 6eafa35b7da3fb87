"""Step / range picker: restrict everything to one ProfilerStep, model_run, NVTX range or
annotation. Dismisses with ("step", value) or ("range", id, name), or None."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui import keys
from tui.screens.shown import while_shown
from tui.widgets.text import safe


class PickerScreen(ModalScreen):
    BINDINGS = keys.bindings("picker")

    def __init__(self, options: list[tuple[str, object]]) -> None:
        super().__init__()
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Restrict to a step or range  (type to filter, enter: pick the first "
                         "match, escape: cancel)",
                         classes="dialog-title")
            yield Input(placeholder="filter", id="picker-filter")
            yield OptionList(id="picker-list")

    @while_shown
    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-list", OptionList).focus()

    def _fill(self, text: str) -> None:
        ol = self.query_one("#picker-list", OptionList)
        ol.clear_options()
        text = text.lower()
        ol.add_options([Option(safe(label), id=str(i)) for i, (label, _) in enumerate(self.options)
                        if not text or text in label.lower()])
        if ol.option_count:
            ol.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # enter in the filter picks the first match (the list's highlighted option)
        ol = self.query_one("#picker-list", OptionList)
        if ol.option_count:
            option = ol.get_option_at_index(ol.highlighted or 0)
            self.dismiss(self.options[int(option.id)][1])
        else:
            ol.focus()

    def on_key(self, event) -> None:
        # typing a letter in the list starts filtering
        if self.focused is self.query_one("#picker-list") and event.character and \
                event.character.isprintable() and event.character not in " jk":
            box = self.query_one("#picker-filter", Input)
            box.focus()
            box.value += event.character
            box.cursor_position = len(box.value)
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[int(event.option.id)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
