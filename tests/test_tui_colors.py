"""Group colours tell every two groups apart, on a true-colour and on a 256-colour terminal
(Activation and Softmax were nearly the same)."""
from __future__ import annotations

import itertools

from rich.color import Color, ColorSystem

from tracekit.report.colors import GROUP_COLORS
from tracekit.taxonomy import Taxonomy

MIN_DISTANCE = 20.0  # CIE76; about 2.3 is "just noticeable", 20 is plainly different


def _lab(rgb) -> tuple[float, float, float]:
    def linear(c):
        c /= 255
        return ((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92

    r, g, b = (linear(float(c)) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(v):
        return v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _rgb(hex_color: str, system: ColorSystem):
    c = Color.parse(hex_color).downgrade(system).get_truecolor()
    return c.red, c.green, c.blue


def test_every_group_of_the_taxonomy_has_its_own_colour():
    assert set(Taxonomy.default().groups) <= set(GROUP_COLORS)
    for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT):
        for (a, ca), (b, cb) in itertools.combinations(GROUP_COLORS.items(), 2):
            la, lb = _lab(_rgb(ca, system)), _lab(_rgb(cb, system))
            distance = sum((p - q) ** 2 for p, q in zip(la, lb)) ** 0.5
            assert distance >= MIN_DISTANCE, (system, a, b, round(distance, 1))
