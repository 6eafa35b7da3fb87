"""The timeline: one lane per GPU stream and per op thread, bucketed into terminal
cells coloured by the group that covers most of each cell; a cursor column shows what
is under it. Keys zoom and pan; enter posts the selected span up to the app."""
from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tracekit.report import fmt
from tui import keys
from tui import queries as q
from tui.messages import SpanSelected
from tui.widgets.colors import group_color
from tui.widgets.text import safe

LABEL_W = 12


class TimelineView(Widget, can_focus=True):
    BINDINGS = keys.bindings("timeline")

    cursor = reactive(0)
    lane_index = reactive(0)

    def __init__(self, data: q.TimelineData, **kw) -> None:
        super().__init__(**kw)
        self.data = data
        self.view_lo = data.lo
        self.view_hi = data.hi
        self.anchor: int | None = None
        self.highlight: str | None = None  # the one group drawn in colour; None: all

    def set_data(self, data: q.TimelineData) -> None:
        self.data = data
        self.view_lo, self.view_hi, self.anchor = data.lo, data.hi, None
        self.cursor = 0
        self.lane_index = 0
        self.refresh(layout=True)

    # geometry -------------------------------------------------------------
    @property
    def plot_width(self) -> int:
        return max(self.size.width - LABEL_W - 1, 8)

    def time_at(self, col: int) -> int:
        w = self.plot_width
        return int(self.view_lo + (col + 0.5) * (self.view_hi - self.view_lo) / w)

    def col_of(self, t: int) -> int:
        return int((t - self.view_lo) * self.plot_width / max(self.view_hi - self.view_lo, 1))

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.data.lanes) + 3 + min(len(self.data.lanes), 6) + 1

    # actions ----------------------------------------------------------------
    def action_move(self, step: int) -> None:
        new = self.cursor + step
        if new < 0:
            self.action_pan(-0.25)
            new = 0
        elif new >= self.plot_width:
            self.action_pan(0.25)
            new = self.plot_width - 1
        self.cursor = new

    def action_lane(self, step: int) -> None:
        if self.data.lanes:
            self.lane_index = (self.lane_index + step) % len(self.data.lanes)

    def action_pan(self, fraction: float) -> None:
        width = self.view_hi - self.view_lo
        shift = int(width * (0.25 if abs(fraction) == 1 else abs(fraction))) * (1 if fraction > 0 else -1)
        lo = min(max(self.view_lo + shift, self.data.lo), self.data.hi - width)
        self.view_lo, self.view_hi = lo, lo + width
        self.refresh()

    def action_zoom(self, factor: float) -> None:
        t = self.time_at(self.cursor)
        width = max(int((self.view_hi - self.view_lo) * factor), self.plot_width)
        width = min(width, self.data.hi - self.data.lo)
        lo = int(t - (t - self.view_lo) * width / max(self.view_hi - self.view_lo, 1))
        lo = min(max(lo, self.data.lo), self.data.hi - width)
        self.view_lo, self.view_hi = lo, lo + width
        self.cursor = min(max(self.col_of(t), 0), self.plot_width - 1)
        self.refresh()

    def action_reset(self) -> None:
        self.view_lo, self.view_hi = self.data.lo, self.data.hi
        self.refresh()

    def action_highlight(self) -> None:
        """The next group present in the lanes, then back to every group."""
        present = [self.data.groups[c] for c in
                   sorted({int(c) for lane in self.data.lanes for c in set(lane.group.tolist())})]
        if not present:
            return
        i = present.index(self.highlight) + 1 if self.highlight in present else 0
        self.highlight = present[i] if i < len(present) else None
        self.refresh()

    def action_mark(self) -> None:
        self.anchor = self.time_at(self.cursor)
        self.refresh()

    def action_select(self) -> None:
        if self.anchor is not None:
            t = self.time_at(self.cursor)
            lo, hi = sorted((self.anchor, t))
            bucket = max((self.view_hi - self.view_lo) // self.plot_width, 1)
            span = (lo - bucket // 2, hi + bucket // 2 + 1)
        else:
            span = (self.view_lo, self.view_hi)
        self.anchor = None
        self.post_message(SpanSelected(span))

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_lane_index(self) -> None:
        self.refresh()

    # rendering --------------------------------------------------------------
    def render(self) -> Text:
        d = self.data
        w = self.plot_width
        t0 = d.t0
        out = Text(no_wrap=True, overflow="crop")
        span = self.view_hi - self.view_lo
        lo_txt = fmt.time_at(self.view_lo - t0, span)
        hi_txt = fmt.time_at(self.view_hi - t0, span)
        ruler = " " * LABEL_W + " " + lo_txt + hi_txt.rjust(max(w - len(lo_txt), 0))
        out.append(ruler[: LABEL_W + 1 + w] + "\n", style="dim")
        if not d.lanes:
            out.append("(no events in this window)\n", style="dim")
        mark_col = self.col_of(self.anchor) if self.anchor is not None else None
        for i, lane in enumerate(d.lanes):
            label = safe(lane.label, limit=LABEL_W)
            label.pad_right(LABEL_W - len(label.plain))
            if i == self.lane_index:
                label.stylize("reverse")
            out.append_text(label)
            out.append(" ")
            best, busy = q.bucket_groups(lane, self.view_lo, self.view_hi, w, len(d.groups))
            for col in range(w):
                g = best[col]
                ch = " " if g < 0 else ("█" if busy[col] >= 0.5 else "▄")
                style = "" if g < 0 else group_color(d.groups[g])
                if g >= 0 and self.highlight is not None and d.groups[g] != self.highlight:
                    ch, style = "░", "grey35"
                if col == self.cursor:
                    ch = "│" if g < 0 else ch
                    style = (style + " reverse").strip() if g >= 0 else "bold white"
                elif mark_col is not None and col == mark_col:
                    ch, style = "┊", "bold yellow"
                out.append(ch, style=style)
            out.append("\n")
        out.append_text(self._legend())
        out.append("\n")
        out.append_text(self._cursor_info())
        return out

    def _legend(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        present = sorted({int(c) for lane in self.data.lanes for c in set(lane.group.tolist())})
        room = self.size.width
        for code in present:
            name = self.data.groups[code]
            if len(t.plain) + len(name) + 4 > room:
                t.append("…")
                break
            dim = self.highlight is not None and name != self.highlight
            t.append("■ ", style="grey35" if dim else group_color(name))
            t.append(name, style="reverse" if name == self.highlight else ("grey50" if dim else ""))
            t.append("  ")
        return t

    def _cursor_info(self) -> Text:
        d = self.data
        t_cur = self.time_at(self.cursor)
        bucket = max((self.view_hi - self.view_lo) // self.plot_width, 1)
        t = Text(no_wrap=True, overflow="ellipsis")
        span = self.view_hi - self.view_lo
        t.append(f"cursor {fmt.time_at(t_cur - d.t0, span)}", style="bold")
        t.append(f"  view {fmt.time_at(self.view_lo - d.t0, span)} – {fmt.time_at(self.view_hi - d.t0, span)}")
        if self.anchor is not None:
            t.append(f"  mark {fmt.time_at(self.anchor - d.t0, span)}", style="yellow")
        shown = 0
        order = [self.lane_index] + [i for i in range(len(d.lanes)) if i != self.lane_index]
        for i in order:
            if i >= len(d.lanes) or shown >= 6:
                break
            lane = d.lanes[i]
            j = q.under_cursor(lane, t_cur, bucket // 2)
            if j < 0:
                continue
            shown += 1
            group = d.groups[int(lane.group[j])]
            t.append("\n")
            t.append_text(safe(lane.label + ": ", style="bold"))
            t.append_text(safe(f"[{group}] ", style=group_color(group)))
            t.append(f"{q.fmt_duration(int(lane.end[j] - lane.start[j]))} ")
            t.append_text(safe(lane.names[j], limit=120, middle=True))
            if lane.ops is not None and lane.ops[j] and lane.ops[j] != lane.names[j]:
                t.append("  op ", style="dim")
                t.append_text(safe(lane.ops[j], limit=60, middle=True))
            if lane.modules is not None and lane.modules[j]:
                t.append("  module ", style="dim")
                t.append_text(safe(lane.modules[j], limit=80, middle=True))
        return t
