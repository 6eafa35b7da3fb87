"""Textual's Header, safe to close together with its screen while it is still mounting.

Textual's Header updates its title from callbacks it queues on the app and the screen
when it mounts. A screen closed before they run (enter then escape in one burst of keys)
has already removed the title widget, and the stock Header then raises NoMatches, which
ends the app. This one updates the title only while it is there."""
from __future__ import annotations

from textual import events
from textual.dom import NoScreen
from textual.widgets import Header as TextualHeader


class Header(TextualHeader):
    def _on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # instead of the stock handler, which assumes the title stays

        async def set_title() -> None:
            for title in self.query("HeaderTitle"):  # none once the screen was closed
                try:
                    title.update(self.format_title())
                except NoScreen:
                    pass

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
