#!/usr/bin/env python3
"""Draws growth curves from a benchmark's CSV as a PNG, with gnuplot (Debian's gnuplot-nox,
which `benches/run.sh` installs when missing).

    plot_growth.py DATA.csv OUT.png TITLE X_LABEL [TARGET]

DATA.csv has the header `metric,rules,cost_ratio`: one curve per metric, x on a log scale,
y the cost as a ratio to the smallest configuration (1.0 = no growth). TARGET draws a dashed
line at that ratio. The CSV is turned into one gnuplot data block (x, then a column per metric);
nothing here draws by itself.
"""
import csv
import subprocess
import sys
from collections import defaultdict


def quoted(text: str) -> str:
    """A gnuplot string literal (double quotes, backslashes and quotes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    data_path, out_path, title, x_label = sys.argv[1:5]
    target = float(sys.argv[5]) if len(sys.argv) > 5 else None
    curves = defaultdict(dict)
    with open(data_path, newline="") as f:
        for row in csv.DictReader(f):
            curves[row["metric"]][float(row["rules"])] = float(row["cost_ratio"])
    metrics = list(curves)
    xs = sorted({x for points in curves.values() for x in points})
    rows = [" ".join([f"{x:g}"] + [f"{curves[m][x]:.3f}" if x in curves[m] else "NaN" for m in metrics]) for x in xs]
    y_high = max([y for points in curves.values() for y in points.values()] + [target or 1.0]) * 1.15
    script = [
        "set terminal pngcairo size 960,540 font 'Sans,11'",
        f"set output {quoted(out_path)}",
        f"set title {quoted(title)}",
        f"set xlabel {quoted(x_label)}",
        "set ylabel 'cost, ratio to the smallest configuration'",
        "set logscale x",
        "set autoscale xfix",
        "set offsets graph 0.03, graph 0.03, 0, 0",
        f"set yrange [0:{y_high:.2f}]",
        "set grid",
        "set key outside bottom center horizontal",
        "$data << EOD",
        *rows,
        "EOD",
    ]
    plots = [f"$data using 1:{i + 2} with linespoints linewidth 2 pointtype 7 title {quoted(m)}" for i, m in enumerate(metrics)]
    if target is not None:
        plots.append(f"{target} with lines dashtype 2 linecolor rgb 'gray40' title {quoted(f'target {target:g}')}")
    script.append("plot " + ", \\\n     ".join(plots))
    subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)


if __name__ == "__main__":
    main()
