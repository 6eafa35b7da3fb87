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


def count(n: int, word: str, plural: str | None = None) -> str:
    """``1 step``, ``2 steps``, ``1,234 kernels``."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def devices(names) -> str:
    """Device names as every view prints them: ``8× MI300X``, ``A100, H100``; a device
    without a name is ``GPU`` (never an empty name)."""
    names = [str(n).strip() or "GPU" for n in names]
    if not names:
        return ""
    if len(set(names)) == 1:
        return f"{len(names)}× {names[0]}"
    return ", ".join(f"{names.count(n)}× {n}" if names.count(n) > 1 else n
                     for n in dict.fromkeys(names))


TIME_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0))


def time_unit(ns) -> tuple[str, float]:
    """The unit a column of times is shown in, from its largest value, so that a
    microsecond-scale trace reads in µs instead of a column of 0.00 ms."""
    ns = abs(float(ns or 0))
    for unit, scale in TIME_UNITS[1:]:
        if ns >= scale:
            return unit, scale
    return "ns", 1.0


def in_unit(ns, scale: float) -> str:
    """``ns`` in the unit of :func:`time_unit` (two decimals, none for ns)."""
    if ns is None:
        return "-"
    return f"{ns / scale:,.2f}" if scale > 1 else f"{ns:,.0f}"


def time_at(ns, span) -> str:
    """A point in time (from the trace start) with as many digits as ``span`` needs to
    tell its ends apart: a 4 ms window 81 s in reads ``81.0912 s – 81.0952 s``, not
    ``81.09 s – 81.09 s``."""
    if ns is None:
        return "-"
    ns = float(ns)
    unit, scale = next(((u, s) for u, s in TIME_UNITS if abs(ns) >= s), ("ns", 1.0))
    if scale == 1.0:
        return f"{ns:.0f} ns"
    step = max(float(span or 0) / 10, 1.0) / scale  # a tenth of the span, in the unit
    decimals = 2
    while decimals < 9 and step < 10 ** -decimals:
        decimals += 1
    return f"{ns / scale:.{decimals}f} {unit}"
