"""Colours of the taxonomy groups, shared by the terminal UI and the figures: GEMM-based
groups in blues, non-GEMM in warm and distinct colours, so bars read at a glance. Each
group also has a hatch, so a figure printed in greyscale still tells the groups apart."""
from __future__ import annotations

GROUP_COLORS = {
    "GEMM": "#3b82f6", "Convolution": "#06b6d4", "Attention": "#8b5cf6",
    "Normalization": "#f59e0b", "Activation": "#ef4444", "Softmax": "#ec4899",
    "Elementwise": "#f97316", "Memory": "#eab308", "Embedding": "#a3e635",
    "Interpolation": "#14b8a6", "Pooling": "#84cc16", "RoI": "#d946ef", "QDQ": "#fb7185",
    "Communication": "#22c55e", "Transfer": "#e11d48", "Other": "#9ca3af",
    "Unattributed": "#6b7280",
}
GEMM_COLOR = "#3b82f6"
NON_GEMM_COLOR = "#f97316"
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
