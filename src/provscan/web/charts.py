"""The dashboard's trend chart, drawn on the server as SVG geometry (no script, no image).

The template draws the lines from these numbers with classes from the stylesheet (the CSP
allows no inline style or script); the same points are also a table and a sentence, for
anyone who cannot see the chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from provscan.store.pages import TrendPoint

#: Points of the trend (the totals after scans, spread over time), on the dashboard and in
#: ``GET /api/v1/summary``.
TREND_POINTS = 60

#: The drawing's size in SVG units (it scales to the width of the page).
WIDTH, HEIGHT = 720, 260
#: Room for the axis labels: left, right, top, bottom.
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 16, 44
#: The *now* point's own place at the right end, this far after the newest scan's: it is no
#: scan (its time is the last change since the newest one, often seconds later), so it is not
#: put on the scans' time axis, and its "now" label never runs into the newest scan's date,
#: even at a phone's width (the labels' 22px there).
NOW_SLOT = 72


@dataclass(frozen=True)
class Line:
    """One series: its name in the legend, its class (colour and dash), its points."""

    key: str
    label: str
    points: tuple[tuple[float, float], ...]
    #: Whether the last point is the *now* point (drawn as an open mark).
    now: bool = False

    @property
    def path(self) -> str:
        return " ".join(
            f"{'M' if index == 0 else 'L'}{x:.1f},{y:.1f}"
            for index, (x, y) in enumerate(self.points)
        )


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    #: The label's classes: "first" (starts at the position), "last" (ends there), "" (centred);
    #: "now": the now point's.
    place: str = ""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    #: The plot area: left, top, right, bottom.
    box: tuple[float, float, float, float]
    #: The chart in words (its text alternative).
    summary: str


#: The leading digits a chart's top may have (the axis ends at a round number close above
#: the highest value, not at the next power of ten's double).
_ROUND = (10, 12, 15, 20, 25, 30, 40, 50, 60, 80)


def _nice_top(value: int) -> int:
    """The smallest round number (see :data:`_ROUND`) at or above ``value`` (at least 1)."""
    if value <= 10:
        return next(top for top in (1, 2, 4, 5, 6, 8, 10) if top >= value)
    scale = 1
    while True:
        for lead in _ROUND:
            if lead * scale >= value:
                return lead * scale
        scale *= 10


def _count(value: int) -> str:
    """An axis label: short enough for the margin at a phone's width (12k, 1.5M)."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


#: The series, in the legend's order; drawn the other way round, so that restricted
#: devices (round markers) stay on top of cases (squares, diamonds) where they meet.
SERIES = (
    ("restricted", "Restricted devices"),
    ("open_cases", "Active cases (not verified)"),
    ("overdue_cases", "Overdue cases"),
)


def trend_chart(points: list[TrendPoint]) -> Chart | None:
    """The chart of ``points`` (oldest first, the last maybe the *now* point); None when
    there is nothing to draw."""
    if not points:
        return None
    now = points[-1] if points[-1].is_now and len(points) > 1 else None
    scans = points[:-1] if now is not None else points
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    # the scans' time axis ends before the now point's place (:data:`NOW_SLOT`)
    scans_right = right - NOW_SLOT if now is not None else right
    highest = max(
        (
            value
            for point in points
            for key, _ in SERIES
            if (value := getattr(point, key)) is not None
        ),
        default=0,
    )
    y_top = _nice_top(highest)
    first, last = scans[0].at, scans[-1].at
    span = (last - first).total_seconds()

    def x_of(point: TrendPoint) -> float:
        if point is now:
            return right
        if span <= 0:
            return (left + scans_right) / 2
        return left + (point.at - first).total_seconds() / span * (scans_right - left)

    def y_of(value: int) -> float:
        return bottom - value / y_top * (bottom - top)

    lines = []
    for key, label in SERIES:
        known = tuple(
            (x_of(point), y_of(value))
            for point in points
            if (value := getattr(point, key)) is not None
        )
        if known:
            lines.append(Line(key, label, known, now=now is not None))
    halves = (0, y_top // 2, y_top) if y_top % 2 == 0 else (0, y_top)
    y_ticks = tuple(Tick(y_of(value), _count(value)) for value in halves)
    if span >= 2 * 86400:
        when = _day
    elif span >= 600:
        when = _stamp
    else:
        when = _seconds
    x_ticks = [Tick(x_of(scans[0]), when(first), "first" if span > 0 else "")]
    if span > 0:
        x_ticks.append(Tick(x_of(scans[-1]), when(last), "last"))
    if now is not None:
        x_ticks.append(Tick(right, "now", "last now"))
    return Chart(
        WIDTH,
        HEIGHT,
        tuple(lines),
        y_ticks,
        tuple(x_ticks),
        (left, top, right, bottom),
        _summary(points),
    )


def _summary(points: list[TrendPoint]) -> str:
    first, last = points[0], points[-1]
    if last.is_now and len(points) > 1:
        return (
            f"{_summary(points[:-1])} Then now (changes made since the newest scan, the last "
            f"{_stamp(last.at)} UTC): restricted devices {last.restricted:,}, active cases "
            f"{last.open_cases:,}, overdue {last.overdue_cases:,}, the totals above."
        )
    if len(points) == 1:
        sentence = f"One point, {_stamp(first.at)} UTC: {first.restricted:,} restricted devices"
        if first.open_cases is not None:
            sentence += f", {first.open_cases:,} active cases (not verified), {first.overdue_cases:,} overdue"
        return sentence + "."
    parts = [
        f"From {_stamp(first.at)} to {_stamp(last.at)} UTC ({len(points)} points): "
        f"restricted devices {first.restricted:,} to {last.restricted:,}"
    ]
    known = [point for point in points if point.open_cases is not None]
    if known:
        parts.append(
            f"active cases (not verified) {known[0].open_cases:,} to {known[-1].open_cases:,}, "
            f"overdue {known[0].overdue_cases:,} to {known[-1].overdue_cases:,}"
            + (f" (case totals known from {_stamp(known[0].at)})" if known[0] is not first else "")
        )
    return "; ".join(parts) + "."
