"""Server-rendered SVG charts as pure geometry: data in, shapes out (templates draw them)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

# One calm colour per AI operation, in pipeline order.
OPERATION_COLOURS = {
    "clustering": "#4c6ef5",
    "idea_generation": "#15aabf",
    "content_generation": "#40c057",
    "image_prompt_extraction": "#fab005",
    "image_generation": "#e64980",
}


@dataclass(frozen=True)
class Slice:
    key: str
    label: str
    value: Decimal
    colour: str
    path: str  # SVG path data; a full circle when the slice is everything


def pie(
    parts: Sequence[tuple[str, str, Decimal]], *, radius: float = 90, centre: float = 100
) -> list[Slice]:
    """Slices of a pie for (key, label, value) parts; zero parts get no shape."""
    total = sum((v for _, _, v in parts), Decimal(0))
    slices: list[Slice] = []
    angle = -math.pi / 2  # start at 12 o'clock
    for key, label, value in parts:
        colour = OPERATION_COLOURS.get(key, "#868e96")
        if total <= 0 or value <= 0:
            slices.append(Slice(key, label, value, colour, ""))
            continue
        share = float(value / total)
        if share >= 0.9999:
            d = (
                f"M {centre - radius} {centre} a {radius} {radius} 0 1 0 {2 * radius} 0 "
                f"a {radius} {radius} 0 1 0 {-2 * radius} 0 Z"
            )
        else:
            end = angle + share * 2 * math.pi
            x1, y1 = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
            x2, y2 = centre + radius * math.cos(end), centre + radius * math.sin(end)
            large = 1 if share > 0.5 else 0
            d = (
                f"M {centre} {centre} L {x1:.2f} {y1:.2f} "
                f"A {radius} {radius} 0 {large} 1 {x2:.2f} {y2:.2f} Z"
            )
            angle = end
        slices.append(Slice(key, label, value, colour, d))
    return slices


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x position, day label
    max_value: int
    gridlines: list[tuple[float, int]]  # y position, value
    empty: bool = False  # nothing to draw: no axis values either


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … at least `value` (0 for 0): a round top for an
    axis, so that its gridlines fall on whole numbers."""
    if value <= 0:
        return 0
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(
    days: Sequence[dt.date],
    usage: Mapping[dt.date, Mapping[str, int]],
    labels: Mapping[str, str],
    *,
    width: int = 720,
    height: int = 220,
    left: int = 44,
    bottom: int = 24,
) -> BarChart:
    """One stacked bar per day (operations stacked in pipeline order)."""
    plot_h = height - bottom - 8
    totals = [sum(usage.get(day, {}).values()) for day in days]
    top = max(1, nice_ceiling(max([*totals, 0])))
    step = (width - left) / max(1, len(days))
    bar_w = max(2.0, step * 0.7)
    bars: list[Bar] = []
    axis: list[tuple[float, str]] = []
    for i, day in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        y = float(height - bottom)
        for op, colour in OPERATION_COLOURS.items():
            value = usage.get(day, {}).get(op, 0)
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            bars.append(
                Bar(x, y, bar_w, h, colour, f"{day:%d %b}: {labels.get(op, op)} {value} credits")
            )
        if len(days) <= 16 or i % max(1, len(days) // 8) == 0:
            axis.append((x + bar_w / 2, f"{day:%d %b}"))
    if not bars:  # an empty chart has no scale: no "1" at the top, "0" in the middle
        return BarChart(width, height, bars, axis, 0, [], empty=True)
    marks = (0.5, 1.0) if top % 2 == 0 else (1.0,)
    grid = [(height - bottom - plot_h * f, int(top * f)) for f in marks]
    return BarChart(width, height, bars, axis, top, grid)
