"""Inline SVG charts for the self-contained HTML report (no plotting library needed)."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def bar_chart(title: str, labels: list[str], values: list[float], width: int = 520) -> str:
    """Horizontal bars, one per label, scaled to the largest magnitude; values printed beside each bar."""
    row, left, pad = 18, 150, 8
    height = pad * 2 + 20 + row * len(values)
    top = max((abs(v) for v in values if math.isfinite(v)), default=1.0) or 1.0
    span = width - left - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<text x="{pad}" y="{pad + 12}" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = pad + 20 + i * row
        length = span * abs(value) / top if math.isfinite(value) else 0
        parts.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">{escape(label[:24])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{length:.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[0] if value >= 0 else PALETTE[1]}"/>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y + 12}" font-size="11">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, series: dict[str, list[float]], width: int = 520, height: int = 180) -> str:
    """One polyline per named series over its index (frame), shared y range, with a legend."""
    pad, left, bottom = 8, 44, 22
    values = [v for ys in series.values() for v in ys if math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    longest = max((len(ys) for ys in series.values()), default=1)
    plot_w, plot_h = width - left - pad, height - pad - 20 - bottom

    def point(i: int, v: float) -> str:
        x = left + (plot_w * i / max(1, longest - 1))
        y = pad + 20 + plot_h * (1 - (v - low) / (high - low))
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<text x="{pad}" y="{pad + 12}" font-size="13" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{pad + 20 + plot_h}" x2="{left + plot_w}" y2="{pad + 20 + plot_h}" '
             'stroke="#999"/>',
             f'<line x1="{left}" y1="{pad + 20}" x2="{left}" y2="{pad + 20 + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{pad + 30}" font-size="10" text-anchor="end">{_fmt(high)}</text>',
             f'<text x="{left - 4}" y="{pad + 20 + plot_h}" font-size="10" text-anchor="end">{_fmt(low)}</text>',
             f'<text x="{left + plot_w}" y="{height - 6}" font-size="10" text-anchor="end">frame</text>']
    for k, (name, ys) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(point(i, v) for i, v in enumerate(ys) if math.isfinite(v))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{left + 8 + 130 * k}" y="{height - 6}" font-size="10" fill="{colour}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
