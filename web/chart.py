"""The coverage chart of a query, drawn on the server as inline SVG: articles per day (per week or
month over long spans, so bars stay readable) stacked by outlet. No JavaScript."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from db.search import CoverageDay

# Distinguishable on white and for the common colour-vision deficiencies (Okabe-Ito, darkened).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8A6D00", "#56B4E9", "#3B3B3B", "#E69F00")
WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 38
MAX_BARS = 90
# Counted coverage kept for paging and reloading (CountedCoverage): queries, and seconds at most
# (a re-extracted text may change what matches without a new article).
COUNTED_QUERIES = 64
COUNTED_TTL = 600
TOO_SLOW: list[CoverageDay] = []  # kept for a query whose count ran past the page's budget (web/pages.py)


@dataclass(frozen=True)
class Chart:
    svg: str
    unit: str  # day, week or month
    buckets: list[tuple[date, dict[str, int]]]  # for the table that accompanies the picture
    outlets: list[tuple[str, str]]  # (outlet, colour)


def _start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(day: date, unit: str) -> date:
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=7 if unit == "week" else 1)


def coverage_chart(days: list[CoverageDay], label: str) -> Chart | None:
    if not days:
        return None
    first, last = days[0].day, days[-1].day
    span = (last - first).days + 1
    unit = "day" if span <= MAX_BARS else "week" if span <= MAX_BARS * 7 else "month"
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for d in days:
        bucket = counts[_start(d.day, unit)]
        bucket[d.outlet] = bucket.get(d.outlet, 0) + d.articles
        totals[d.outlet] += d.articles
    order = sorted(totals, key=lambda o: (-totals[o], o))
    colours = {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(order)}
    buckets, cursor = [], _start(first, unit)
    while cursor <= last:
        buckets.append((cursor, counts.get(cursor, {})))
        cursor = _next(cursor, unit)
    return Chart(_svg(buckets, order, colours, unit, label), unit, buckets, [(o, colours[o]) for o in order])


def _svg(buckets, order, colours, unit: str, label: str) -> str:
    peak = max(sum(c.values()) for _, c in buckets) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(buckets)
    bar = max(1.0, step * 0.8)
    total = sum(sum(c.values()) for _, c in buckets)
    title = f"Coverage of {label}: {total} articles per {unit} by outlet"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="chart-title" class="chart"><title id="chart-title">{escape(title)}</title>']
    for fraction in (0, 0.5, 1):  # grid lines with their counts
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{round(peak * fraction)}</text>')
    for i, (start, count) in enumerate(buckets):
        x, y = LEFT + i * step + (step - bar) / 2, TOP + plot_h
        for outlet in order:
            n = count.get(outlet, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            tip = f"{start.isoformat()} {outlet}: {n}"
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colours[outlet]}"><title>{escape(tip)}</title></rect>')
    for i in sorted({0, len(buckets) // 2, len(buckets) - 1}):  # first, middle and last dates
        x = LEFT + i * step + step / 2
        anchor = "start" if i == 0 else "end" if i == len(buckets) - 1 else "middle"
        text = buckets[i][0].strftime("%b %Y" if unit == "month" else "%d %b %Y")
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor={quoteattr(anchor)}>{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


class CountedCoverage:
    """The coverage of the latest queries of one archive, by (filters, newest article id): counting a
    frequent phrase's matches takes seconds at a million articles, and each page of its results
    shows the same chart."""

    def __init__(self) -> None:
        self._days: OrderedDict[tuple, tuple[float, list[CoverageDay]]] = OrderedDict()
        self._lock = threading.Lock()  # the pages run in a thread pool

    def get(self, key: tuple) -> list[CoverageDay] | None:
        """The days kept for `key` (TOO_SLOW itself when that count was cancelled), or None."""
        with self._lock:
            found = self._days.get(key)
            if found is None or time.monotonic() - found[0] > COUNTED_TTL:
                return None
            self._days.move_to_end(key)
            return found[1]

    def put(self, key: tuple, days: list[CoverageDay]) -> None:
        with self._lock:
            self._days[key] = (time.monotonic(), days)
            while len(self._days) > COUNTED_QUERIES:
                self._days.popitem(last=False)
