"""matplotlib glue: import it on demand (the optional ``report`` extra), render a figure to
an SVG string that can sit inline in an HTML page, and make names from traces safe as
figure text."""
from __future__ import annotations

import io
import re

from tracekit.model.errors import TracekitError
from tracekit.safe_text import clean

EXTRA = 'pip install "tracekit[report]"'


class MissingExtra(TracekitError):
    """The plotting library is not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs matplotlib, which is not installed ({EXTRA})")


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def pyplot(what: str = "tracekit report"):
    """matplotlib.pyplot on the SVG backend (no display), text kept as text."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra(what) from None
    matplotlib.use("svg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "hatch.linewidth": 0.6,
                                "axes.spines.top": False, "axes.spines.right": False,
                                "svg.hashsalt": "tracekit"})
    return plt


def to_svg(fig, name: str) -> str:
    """The figure as an ``<svg>`` element; ``name`` salts its ids so that several figures
    on one page never share a clip path or hatch id."""
    import matplotlib

    plt = pyplot()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})  # same input, same page
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


_MATH = re.compile(r"\$")


def label(text, limit: int = 60) -> str:
    """A name from a trace as figure text: no control characters, no mathtext."""
    return _MATH.sub(r"\\$", clean(text, limit=limit))


def write(fig, path: str) -> None:
    """Save a figure as an SVG file."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_svg(fig, path))
