#!/usr/bin/env python3
"""Draws growth curves from a benchmark's CSV as an SVG (no plotting library needed).

    plot_growth.py DATA.csv OUT.svg TITLE X_LABEL [TARGET]

DATA.csv has the header `metric,rules,cost_ratio`: one curve per metric, x on a log scale,
y the cost as a ratio to the smallest configuration (1.0 = no growth). TARGET draws a dashed
line at that ratio.
"""
import csv
import math
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def main() -> None:
    data_path, out_path, title, x_label = sys.argv[1:5]
    target = float(sys.argv[5]) if len(sys.argv) > 5 else None
    curves = defaultdict(list)
    with open(data_path, newline="") as f:
        for row in csv.DictReader(f):
            curves[row["metric"]].append((float(row["rules"]), float(row["cost_ratio"])))
    for points in curves.values():
        points.sort()
    xs = [x for pts in curves.values() for x, _ in pts]
    ys = [y for pts in curves.values() for _, y in pts] + [1.0] + ([target] if target else [])
    x_lo, x_hi = math.log10(min(xs)), math.log10(max(xs))
    y_lo, y_hi = 0.0, max(2.0, math.ceil(max(ys) * 4) / 4)
    width, height, left, right, top, bottom = 760, 420, 70, 250, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (math.log10(x) - x_lo) / ((x_hi - x_lo) or 1) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="14">{escape(title)}</text>']
    # axes, grid and ticks
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>')
    for decade in range(math.floor(x_lo), math.ceil(x_hi) + 1):
        x = 10 ** decade
        if min(xs) <= x <= max(xs):
            out.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="#ddd"/>')
            out.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{x:,}</text>')
    step = 0.25 if y_hi <= 3 else 0.5
    y = y_lo
    while y <= y_hi + 1e-9:
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        y += step
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">{escape(x_label)} (log scale)</text>')
    out.append(f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 18 {top + plot_h / 2})">cost, ratio to the smallest</text>')
    out.append(f'<line x1="{left}" y1="{py(1):.1f}" x2="{left + plot_w}" y2="{py(1):.1f}" stroke="#888"/>')
    if target:
        out.append(f'<line x1="{left}" y1="{py(target):.1f}" x2="{left + plot_w}" y2="{py(target):.1f}" stroke="#d62728" stroke-dasharray="6,4"/>')
        out.append(f'<text x="{left + plot_w - 4}" y="{py(target) - 6:.1f}" text-anchor="end" fill="#d62728">target {target}</text>')
    # curves and legend
    for i, (metric, points) in enumerate(sorted(curves.items())):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"><title>{escape(metric)}: {y:.3f} at {x:,.0f}</title></circle>')
        ly = top + 10 + i * 22
        out.append(f'<line x1="{left + plot_w + 16}" y1="{ly}" x2="{left + plot_w + 40}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 46}" y="{ly + 4}">{escape(metric)}</text>')
    out.append("</svg>")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
