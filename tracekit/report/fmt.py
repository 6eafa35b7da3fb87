"""Number formatting shared by the reporters."""
from __future__ import annotations


def ms(ns) -> str:
    return f"{ns / 1e6:,.2f}" if ns is not None else "-"


def us(ns) -> str:
    return f"{ns / 1e3:,.1f}" if ns is not None else "-"


def pct(x) -> str:
    return f"{100 * x:.1f}%" if x is not None else "-"


def duration(ns) -> str:
    """Human duration with a unit that fits: 812 ns, 35.2 µs, 4.81 ms, 2.31 s."""
    if ns is None:
        return "-"
    ns = float(ns)
    if abs(ns) < 1e3:
        return f"{ns:.0f} ns"
    if abs(ns) < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if abs(ns) < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def bar(share: float, width: int = 24) -> str:
    """A block bar of ``share`` (0..1) at eighth-of-a-cell resolution."""
    share = min(max(share or 0.0, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def size(n) -> str:
    """Bytes in binary units, as everywhere in tracekit: 512 B, 1.5 KiB, 3.2 MiB, 1.1 GiB
    (TiB above); "-" when unknown (None or negative: a copy whose size was not recorded)."""
    if n is None or n < 0:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"
