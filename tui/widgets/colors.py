"""Colours of the taxonomy groups: GEMM-based groups in blues, non-GEMM in warm and
distinct colours, so the timeline and bars read at a glance."""
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


def group_color(group: str) -> str:
    return GROUP_COLORS.get(str(group), "#9ca3af")
