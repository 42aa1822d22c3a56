"""Draw the digest chart (theme story counts as bars, a price as a line) as PNG bytes.

matplotlib is imported inside the function: it is slow to import and only the digest
and the app need it. We draw on a ``Figure`` with the Agg canvas directly instead of
going through pyplot, so no global backend or figure registry is touched; that keeps
the function safe to call from the Streamlit app's threads and from tests.
"""

from __future__ import annotations

import io
import itertools
from typing import TYPE_CHECKING

from newsintel.digest.content import ChartSeries
from newsintel.errors import DigestError
from newsintel.series.smoothing import TREND_NAME
from newsintel.series.smoothing import trend as sparse_trend

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_PX = 800
HEIGHT_PX = 400
_DPI = 100
# Okabe-Ito blue and vermillion, as the app's charts (newsintel.ui.charts): distinct under
# the common colour blindnesses.
_BAR_COLOUR = "#0072b2"
_LINE_COLOUR = "#d55e00"
# The app's rolling-mean line (newsintel.ui.charts): near-black and dashed, so it
# differs from the bars and the price line by its dashes, not by colour alone.
_TREND_COLOUR = "#1b2631"


def bar_trend(chart: ChartSeries) -> tuple[float, ...] | None:
    """The rolling mean drawn over ``chart``'s bars when they are sparse, else None.

    The rule and window are the app's (newsintel.series.smoothing), so a theme's chart
    in the digest shows the same trend line as on the Prices & themes page.
    """
    return sparse_trend(chart.dates_left, chart.values_left) if chart.dates_left else None


def describe_chart(chart: ChartSeries) -> str:
    """The chart's text alternative: its title and what its bars and lines show."""
    parts = [f"{chart.left_name} (bars)"] if chart.dates_left else []
    if bar_trend(chart) is not None:
        parts.append(f"their {TREND_NAME} (dashed line), as the weekly bars are sparse")
    if chart.dates_right:
        parts.append(f"{chart.right_name} (line)")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"{chart.title}: {listed}"


def render_chart_png(chart: ChartSeries) -> bytes:
    """Render ``chart`` to an 800x400 PNG and return its bytes.

    Raises DigestError when the series are inconsistent or empty, or matplotlib is
    missing.
    """
    figure = draw_chart(chart)
    buffer = io.BytesIO()
    # No "Software" text chunk: the same data gives the same bytes across versions.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def draw_chart(chart: ChartSeries) -> Figure:
    """Draw ``chart`` on an 800x400 matplotlib Figure (what render_chart_png saves).

    Raises DigestError as render_chart_png does.
    """
    _check(chart)
    try:
        import matplotlib.dates as mdates
        import numpy as np
        from matplotlib.artist import Artist
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator, StrMethodFormatter
    except ImportError:
        raise DigestError("matplotlib is needed to draw the digest chart") from None

    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    handles: list[Artist | tuple[Artist, ...]] = []
    labels: list[str] = []

    if chart.dates_left:
        bars = axes.bar(
            np.array(chart.dates_left, dtype="datetime64[D]"),
            list(chart.values_left),
            # A float width next to datetime64 positions is read as days.
            width=_bar_width_days(chart),
            color=_BAR_COLOUR,
            alpha=0.85,
        )
        handles.append(bars)
        labels.append(chart.left_name)
        rolling = bar_trend(chart)
        if rolling is not None:
            # On the bars' own axis: the mean is read in stories per week.
            weeks, means = zip(*sorted(zip(chart.dates_left, rolling, strict=True)), strict=True)
            (mean_line,) = axes.plot(
                np.array(weeks, dtype="datetime64[D]"),
                list(means),
                color=_TREND_COLOUR,
                linewidth=2,
                linestyle=(0, (5, 3)),
            )
            handles.append(mean_line)
            labels.append(f"{chart.left_name}, {TREND_NAME}")
    axes.set_ylabel(chart.y_label_left)
    # Story counts are whole numbers: integer ticks, or labels would repeat (2, 2, 1, 1).
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_xlabel(chart.x_label)
    axes.set_title(chart.title)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)

    if chart.dates_right:
        right = axes.twinx()
        (line,) = right.plot(
            np.array(chart.dates_right, dtype="datetime64[D]"),
            list(chart.values_right),
            color=_LINE_COLOUR,
            linewidth=2,
            marker="o",
            markersize=3,
        )
        right.set_ylabel(chart.y_label_right)
        right.yaxis.set_major_formatter(StrMethodFormatter("{x:,.6g}"))
        handles.append(line)
        labels.append(chart.right_name)

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )
    axes.legend(handles, labels, loc="upper left", framealpha=0.85)
    # A fixed layout (not bbox_inches="tight") keeps the image exactly 800x400 px.
    figure.tight_layout()
    return figure


def _check(chart: ChartSeries) -> None:
    if len(chart.dates_left) != len(chart.values_left):
        raise DigestError(
            f"chart '{chart.title}': {len(chart.dates_left)} dates but "
            f"{len(chart.values_left)} values for {chart.left_name}"
        )
    if len(chart.dates_right) != len(chart.values_right):
        raise DigestError(
            f"chart '{chart.title}': {len(chart.dates_right)} dates but "
            f"{len(chart.values_right)} values for {chart.right_name}"
        )
    if not chart.dates_left and not chart.dates_right:
        raise DigestError(f"chart '{chart.title}' has no data to draw")


def _bar_width_days(chart: ChartSeries) -> float:
    """Bars fill 80% of the smallest gap between dates (a week for weekly counts)."""
    dates = sorted(set(chart.dates_left))
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(dates)]
    return 0.8 * (min(gaps) if gaps else 7)
