"""Timelines as terminal bar charts: one line per bar, offset by where it starts (a waterfall).

Generic on purpose: ``waterfall`` takes plain bars (label, start, seconds, note) in one or more
timelines, drawn one under the other on one shared scale, so a measured timeline (a drill) can be
printed under the model's and compared by eye.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

MIN_WIDTH = 72
MAX_WIDTH = 140
LABEL_WIDTH = 34
"""Longer labels are cut short (with an ellipsis); the full name stays in the text under the chart."""
MIN_LABEL = 10
MIN_CELLS = 24
"""The bars keep at least this many columns; the labels give way first."""


@dataclass(frozen=True)
class Bar:
    """One bar: ``seconds`` long, starting ``start`` seconds into the timeline; ``note`` follows its figures."""

    label: str
    start: float
    seconds: float
    note: str = ""

    @property
    def end(self) -> float:
        """Where the bar ends on the clock."""
        return self.start + self.seconds


@dataclass(frozen=True)
class Glyphs:
    """The characters a chart is drawn with."""

    bar: str
    tick: str
    """A bar of zero seconds."""
    frame: str
    goal: str
    """The goal's column through the bar rows."""
    axis: str
    axis_tick: str
    marker: str
    ellipsis: str


UNICODE = Glyphs(bar="█", tick="▏", frame="│", goal="┊", axis="─", axis_tick="┴", marker="▲", ellipsis="…")
ASCII = Glyphs(bar="#", tick="|", frame="|", goal=":", axis="-", axis_tick="+", marker="^", ellipsis="~")


def can_draw_unicode(stream: TextIO) -> bool:
    """Whether ``stream``'s encoding can encode the Unicode glyphs."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "".join(vars(UNICODE).values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def terminal_width() -> int:
    """The terminal's width, clamped to [MIN_WIDTH, MAX_WIDTH] (100 when there is no terminal)."""
    columns = shutil.get_terminal_size((100, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


def _nice_step(span: float, cells: int) -> float:
    """A round tick step leaving at least 8 cells between ticks."""
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if span / step * 8 <= cells:
            return float(step)
    return float(10 ** math.ceil(math.log10(span)))


def _fit(label: str, width: int, glyphs: Glyphs) -> str:
    return label if len(label) <= width else label[: width - len(glyphs.ellipsis)] + glyphs.ellipsis


def _pin(column: int, text: str, glyphs: Glyphs, width: int) -> str:
    """A marker at ``column`` with ``text`` after it, or before it when it would run past ``width``."""
    if column + 2 + len(text) <= width or column < len(text) + 1:
        return " " * column + glyphs.marker + " " + text
    return " " * (column - len(text) - 1) + text + " " + glyphs.marker


_FIGURES = len(f"  {''}  +{0:5.1f} s  ={0:5.0f} s  {''} ")
"""A bar line's columns before its frame, less the label's and the note's."""


def waterfall(
    timelines: Sequence[Sequence[Bar]],
    *,
    titles: Sequence[str] = (),
    goal: float | None = None,
    goal_label: str = "goal",
    width: int = 100,
    ascii_only: bool = False,
) -> list[str]:
    """The chart's lines: each timeline's bars (under its title, if any), then the shared scale.

    A bar line reads ``label  +seconds  =end  note  |bars|``; the bars start at the same column on
    every line and one cell stands for the same seconds everywhere. The scale ends with a marker at
    each timeline's end (``total``) and at ``goal``, whose column is also dotted through the bar rows.
    """
    glyphs = ASCII if ascii_only else UNICODE
    width = max(MIN_WIDTH, width)
    bars = [bar for line in timelines for bar in line]
    note_width = max((len(b.note) for b in bars), default=0)
    room = width - _FIGURES - note_width - 2 - MIN_CELLS
    label_width = max(MIN_LABEL, min(LABEL_WIDTH, room, max((len(b.label) for b in bars), default=5)))
    prefix = _FIGURES + label_width + note_width
    """The columns before a bar line's frame."""
    cells = max(MIN_CELLS, width - prefix - 2)
    """Bars use cells 0 .. cells-1; the extra cell at ``cells`` holds a marker at the very end of the scale."""
    latest = max([b.end for b in bars] + [goal or 0.0, 1.0])
    step = _nice_step(latest, cells)
    span = math.ceil(latest / step) * step
    per_second = cells / span

    def column(seconds: float) -> int:
        return round(seconds * per_second)

    goal_column = column(goal) if goal is not None else None
    out: list[str] = []
    for index, line in enumerate(timelines):
        if index < len(titles):
            out.append(titles[index])
        for bar in line:
            area = [" "] * (cells + 1)
            if goal_column is not None:
                area[goal_column] = glyphs.goal
            first, last = column(bar.start), column(bar.end)
            if last > first:
                area[first:last] = glyphs.bar * (last - first)
            else:
                area[first] = glyphs.tick
            figures = f"{_fit(bar.label, label_width, glyphs):<{label_width}}  +{bar.seconds:5.1f} s  ={bar.end:5.0f} s"
            out.append(f"  {figures}  {bar.note:<{note_width}} {glyphs.frame}{''.join(area)}".rstrip())
    axis = [glyphs.axis] * (cells + 1)
    labels = [" "] * (cells + 8)
    tick = 0.0
    while tick <= span + 1e-9:
        axis[column(tick)] = glyphs.axis_tick
        text = f"{tick:.0f} s" if tick == span else f"{tick:.0f}"
        at = column(tick) if tick < span else column(tick) + 1 - len(text)
        labels[at : at + len(text)] = text
        tick += step
    margin = " " * prefix
    out.append(margin + glyphs.frame + "".join(axis))
    out.append((margin + " " + "".join(labels)).rstrip())
    for index, line in enumerate(timelines):
        if line:
            end = max(b.end for b in line)
            name = f"{titles[index]}: " if index < len(titles) and len(timelines) > 1 else ""
            out.append(_pin(prefix + 1 + column(end), f"{name}total {end:.0f} s", glyphs, width))
    if goal is not None and goal_column is not None:
        out.append(_pin(prefix + 1 + goal_column, f"{goal_label} {goal:.0f} s", glyphs, width))
    return out
