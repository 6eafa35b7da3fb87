"""Widgets of the TUI: bars, the navigation strip, the timeline."""
