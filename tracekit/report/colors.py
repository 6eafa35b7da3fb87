"""Colours of the taxonomy groups, shared by the terminal UI and the figures: GEMM-based
groups in blues, non-GEMM in warm and distinct colours, so bars read at a glance. Each
group also has a hatch, so a figure printed in greyscale still tells the groups apart."""
from __future__ import annotations

# xterm-256 cube colours, so a 256-colour terminal shows exactly these; every two groups
# differ by a CIE76 distance of 20 or more (tests/test_tui_colors.py), Activation and
# Softmax included
GROUP_COLORS = {
    "GEMM": "#0087ff", "Convolution": "#00afd7", "Attention": "#875fff",
    "Normalization": "#ffaf00", "Activation": "#ff5f5f", "Softmax": "#ff5faf",
    "Elementwise": "#d75f00", "Memory": "#afaf00", "Embedding": "#87d700",
    "Interpolation": "#00af87", "Pooling": "#008700", "RoI": "#d700d7", "QDQ": "#af5f5f",
    "Communication": "#afd787", "Transfer": "#ff0000", "Other": "#a8a8a8",
    "Unattributed": "#585858", "Fused GEMM region": "#5f5faf", "Fused region": "#d7af87",
}
GEMM_COLOR = GROUP_COLORS["GEMM"]
NON_GEMM_COLOR = GROUP_COLORS["Elementwise"]
COMMUNICATION_COLOR = GROUP_COLORS["Communication"]
DEFAULT_COLOR = "#9ca3af"

# matplotlib hatch patterns; neighbours in the usual group order differ in direction
HATCHES = ("", "//", "\\\\", "xx", "..", "oo", "++", "--", "||", "**", "OO", "//.", "\\\\.", "x.")
GEMM_HATCH, NON_GEMM_HATCH, COMMUNICATION_HATCH = "", "//", "xx"


def group_color(group: str) -> str:
    return GROUP_COLORS.get(str(group), DEFAULT_COLOR)


def group_hatch(group: str) -> str:
    """A fixed hatch per known group (its place in GROUP_COLORS); unknown groups hash to one."""
    names = list(GROUP_COLORS)
    name = str(group)
    index = names.index(name) if name in names else sum(map(ord, name))
    return HATCHES[index % len(HATCHES)]
