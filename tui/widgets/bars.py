"""The Overview's bars: GEMM vs non-GEMM and one bar per group, as rich Text."""
from __future__ import annotations

from rich.text import Text

from tui import queries as q
from tui.widgets.colors import GEMM_COLOR, NON_GEMM_COLOR, group_color
from tui.widgets.text import safe

_EIGHTHS = " ▏▎▍▌▋▊▉"


def block_bar(share: float, width: int) -> str:
    share = min(max(share or 0.0, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + ("" if rest == 0 else _EIGHTHS[rest])).ljust(width)


def split_bar(gemm_ns: int, total_ns: int, width: int) -> Text:
    """One bar, GEMM part then non-GEMM part."""
    width = max(width, 4)
    g = round(width * gemm_ns / total_ns) if total_ns else 0
    text = Text()
    text.append("█" * g, style=GEMM_COLOR)
    text.append("█" * (width - g) if total_ns else "·" * width, style=NON_GEMM_COLOR)
    return text


def gemm_lines(ov: q.Overview, width: int) -> Text:
    t = Text()
    total = ov.total_ns
    share_g = ov.gemm_ns / total if total else 0.0
    t.append("GEMM ", style=f"bold {GEMM_COLOR}")
    t.append(f"{q.fmt_ms(ov.gemm_ns)} ({q.fmt_pct(share_g)})")
    t.append("   non-GEMM ", style=f"bold {NON_GEMM_COLOR}")
    t.append(f"{q.fmt_ms(ov.non_gemm_ns)} ({q.fmt_pct(1 - share_g if total else 0.0)})")
    t.append(f"   of {q.fmt_ms(total)}\n")
    t.append_text(split_bar(ov.gemm_ns, total, width))
    return t


def group_lines(ov: q.Overview, width: int, selected: str | None = None) -> Text:
    """One line per group with time: name, bar, ms, share, count; the ``selected`` group's
    name reversed."""
    t = Text()
    rows = ov.groups
    bar_w = max(width - 14 - 12 - 8 - 4, 6)
    first = True
    for name, is_gemm, total, share in zip(rows["name"], rows["is_gemm"], rows["total_ns"], rows["share"]):
        if not first:
            t.append("\n")
        first = False
        mark = "G" if is_gemm else " "
        t.append(mark + " ", style=f"bold {GEMM_COLOR}" if is_gemm else "")
        label = safe(name, style=group_color(name), limit=13)
        label.pad_right(13 - len(label.plain))
        if name == selected:
            label.stylize("reverse")
        t.append_text(label)
        t.append(" ")
        t.append(block_bar(float(share), bar_w), style=group_color(name))
        t.append(f"{q.fmt_ms(int(total)):>12} {q.fmt_pct(float(share)):>6}")
    return t
