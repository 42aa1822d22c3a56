"""Altair charts for the app. Every chart has a title, axis titles and units.

Charts take tidy DataFrames from ``newsintel.ui.data`` and return Altair charts; the
pages decide where they go. Vega draws text as text, so feed strings in tooltips and
labels cannot become markup.

Colours come from the Okabe-Ito palette, which stays distinct under the common kinds
of colour blindness; where colour carries meaning a shape or a sign carries it too.
Every chart has a ``description`` (its title and one sentence of what it shows):
Vega gives it to the drawing as its aria-label, the text a screen reader reads.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from newsintel.series.smoothing import TREND_NAME
from newsintel.series.smoothing import trend as sparse_trend
from newsintel.ui import significance

# Okabe & Ito (2008), "Color Universal Design": blue, vermillion, orange, bluish green,
# reddish purple, sky blue, yellow, black.
OKABE_ITO = ("#0072B2", "#D55E00", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442")
BAR_COLOUR = OKABE_ITO[0]
LINE_COLOUR = OKABE_ITO[1]
MUTED = "#B8C4D0"

# What the builders return; altair's own annotations are too loose for mypy here.
ChartLike = alt.Chart | alt.LayerChart | alt.FacetChart
HEIGHT = 340


# Streamlit fits a stretched chart's whole height (legend and titles included) into
# ``height`` by default; a long legend then squeezes the plot to nothing. Fitting
# only the width keeps ``height`` for the plot and lets the legend add to it.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def described(chart: ChartLike, title: str, sentence: str) -> ChartLike:
    """``chart`` with its text alternative: the title and one sentence of what it shows."""
    described_chart: ChartLike = chart.properties(description=f"{title}. {sentence}")
    return described_chart


def _title(text: str, subtitle: str = "") -> alt.TitleParams:
    return alt.TitleParams(
        text,
        subtitle=subtitle or alt.Undefined,
        anchor="start",
        fontSize=15,
        subtitleColor="#5f6b7a",
        subtitleFontSize=12,
    )


def theme_vs_series(
    counts: pd.DataFrame,
    prices: pd.DataFrame,
    *,
    theme_label: str,
    series_label: str,
    unit: str,
) -> ChartLike:
    """Dual-axis weekly chart: bars = stories of a theme, line = weekly mean of a series.

    ``counts`` has columns week, articles; ``prices`` week, value_mean (may be empty).
    Both share one time axis, so a move in one can be read against the other.
    """
    unit_text = f" ({unit})" if unit else ""
    x = alt.X("week:T", title="Week", axis=alt.Axis(format="%b %Y", labelAngle=0))
    # Each bar spans its Monday-to-Saturday, so bars keep a gap on any chart width.
    weeks = counts[["week", "articles"]].copy()
    weeks["week_end"] = pd.to_datetime(weeks["week"]) + pd.Timedelta(days=6)
    bars = (
        alt.Chart(weeks)
        .mark_bar(color=BAR_COLOUR, opacity=0.85)
        .encode(
            x=x,
            x2="week_end:T",
            y=alt.Y(
                "articles:Q",
                title="Stories per week",
                axis=alt.Axis(titleColor=BAR_COLOUR, tickMinStep=1, format="d"),
            ),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("articles:Q", title="Stories"),
            ],
        )
    )
    line = (
        alt.Chart(prices)
        .mark_line(color=LINE_COLOUR, strokeWidth=2.2, interpolate="monotone")
        .encode(
            x=x,
            y=alt.Y(
                "value_mean:Q",
                title=f"{series_label}{unit_text}",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(titleColor=LINE_COLOUR, orient="right", format="~s"),
            ),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("value_mean:Q", title=f"{series_label}{unit_text}", format=",.0f"),
            ],
        )
    )
    subtitle = (
        f"Bars: stories per week (left axis) · Line: weekly mean of {series_label}"
        f"{unit_text} (right axis)"
    )
    if prices.empty:
        subtitle = "Bars: stories per week · no values of the series in this window"
    stories: ChartLike = bars
    # Sparse bars (one or two stories a week) get a rolling mean, by the rule the
    # digest's chart follows too (newsintel.series.smoothing).
    weeks = weeks.sort_values("week")
    rolling = sparse_trend(
        list(pd.to_datetime(weeks["week"]).dt.date), [float(v) for v in weeks["articles"]]
    )
    sparse = rolling is not None
    if rolling is not None:
        weeks["rolling"] = rolling
        mean_line = (
            alt.Chart(weeks)
            .mark_line(color="#1B2631", strokeWidth=2, strokeDash=[5, 3])
            .encode(x=x, y=alt.Y("rolling:Q", title="Stories per week"))
        )
        # One layer, one scale: the mean is read on the bars' axis.
        stories = alt.layer(bars, mean_line)
        subtitle += f" · Dashed: {TREND_NAME} of stories"
    title = f"{theme_label}: weekly stories vs {series_label}"
    chart: ChartLike = (
        alt.layer(stories, line)
        .resolve_scale(y="independent")
        .properties(title=_title(title, subtitle), height=HEIGHT)
    )
    total = int(weeks["articles"].sum()) if not weeks.empty else 0
    sentence = (
        f"Bars count the {total} stories of {theme_label} per week"
        + (f", a dashed line their {TREND_NAME}" if sparse else "")
        + (
            f"; the line is the weekly mean of {series_label}{unit_text} on the right axis."
            if not prices.empty
            else f"; {series_label} has no values in this window."
        )
    )
    return described(chart, title, sentence)


def theme_volume(weekly: pd.DataFrame, highlight: str) -> ChartLike:
    """Stacked weekly stories of every theme, the ``highlight`` label drawn strongest.

    ``weekly`` has columns week, label, articles.
    """
    frame = weekly[weekly["articles"] > 0]
    chart: ChartLike = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(week):T", title="Month", axis=alt.Axis(format="%b %Y")),
            y=alt.Y("sum(articles):Q", title="Stories per month", stack=True),
            color=alt.Color(
                "label:N",
                title="Theme",
                scale=alt.Scale(range=[*OKABE_ITO, "#000000"]),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=240),
            ),
            opacity=alt.condition(alt.datum.label == highlight, alt.value(1.0), alt.value(0.35)),
            order=alt.Order("label:N"),
            tooltip=[
                alt.Tooltip("yearmonth(week):T", title="Month", format="%b %Y"),
                alt.Tooltip("label:N", title="Theme"),
                alt.Tooltip("sum(articles):Q", title="Stories"),
            ],
        )
        .properties(
            title=_title("Story volume by theme", f"{highlight} highlighted; stories per month"),
            height=HEIGHT,
            autosize=FIT_WIDTH,
        )
    )
    return described(
        chart,
        "Story volume by theme",
        f"Stacked bars count each theme's stories per month, {highlight} drawn strongest.",
    )


def theme_share(weekly: pd.DataFrame, label: str) -> ChartLike:
    """Weekly share of all stories (percent) of one theme, with a 4-week rolling mean.

    ``weekly`` has columns week, share (0..1) for that theme only.
    """
    frame = weekly[["week", "share"]].sort_values("week").copy()
    frame["share_pct"] = frame["share"] * 100.0
    frame["rolling_pct"] = frame["share_pct"].rolling(4, min_periods=1).mean()
    x = alt.X("week:T", title="Week", axis=alt.Axis(format="%b %Y"))
    points = (
        alt.Chart(frame)
        .mark_circle(color=MUTED, size=28)
        .encode(
            x=x,
            y=alt.Y("share_pct:Q", title="Share of all stories (%)"),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("share_pct:Q", title="Share (%)", format=".0f"),
            ],
        )
    )
    trend = (
        alt.Chart(frame)
        .mark_line(color=BAR_COLOUR, strokeWidth=2.2)
        .encode(x=x, y=alt.Y("rolling_pct:Q", title="Share of all stories (%)"))
    )
    title = f"{label}: share of all stories"
    chart: ChartLike = alt.layer(points, trend).properties(
        title=_title(title, "Dots: weekly share · Line: 4-week mean"), height=HEIGHT
    )
    return described(
        chart, title, "Dots are the weekly percentage of all stories, the line its 4-week mean."
    )


def source_mix(frame: pd.DataFrame, label: str) -> ChartLike:
    """Horizontal bars of stories per source (columns source, stories)."""
    chart: ChartLike = (
        alt.Chart(frame)
        .mark_bar(color=BAR_COLOUR)
        .encode(
            x=alt.X("stories:Q", title="Stories", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("source:N", title="Source", sort="-x"),
            tooltip=[alt.Tooltip("source:N", title="Source"), alt.Tooltip("stories:Q")],
        )
        .properties(
            title=_title(f"{label}: stories by source"),
            height=max(120, 28 * len(frame)),
            autosize=FIT_WIDTH,
        )
    )
    return described(
        chart,
        f"{label}: stories by source",
        f"Horizontal bars count the stories of each of {len(frame)} sources, largest first.",
    )


def ccf(frame: pd.DataFrame, *, theme_label: str, series_label: str, unit: str) -> ChartLike:
    """Correlation per lag with its 95% interval and the white-noise band.

    ``frame`` has columns lag, r, ci_low, ci_high, p_adj, band (half-width, may be null)
    and, for runs with robust tests, p_robust_adj and robust. Positive lags: the theme
    leads the series by that many ``unit``s. The r axis fits the data (intervals and
    noise band), not -1..1: real correlations of news and prices are near 0.1, a flat
    line on a -1..1 axis. Lags significant after adjustment (by the robust adjusted p,
    as ``best_lag``; see ``significance``) are drawn as larger vermillion diamonds, so
    not by colour alone; lags the robust test cannot judge as grey crosses.
    """
    data = frame.copy()
    robust = significance.has_robust(data)
    significant = "Robust adjusted p < 0.05" if robust else "Adjusted p < 0.05 (classic)"
    verdicts = significance.verdicts(data)
    data[significant] = verdicts.str.split(":").str[0]
    data["robust_test"] = verdicts.map(
        lambda v: v if v.startswith(significance.NOT_TESTABLE) else "tested"
    )
    domain = ["no", "yes", significance.NOT_TESTABLE]
    x = alt.X(
        "lag:O",
        title=f"Lag in {unit}s (positive: {theme_label} leads {series_label})",
        axis=alt.Axis(labelAngle=0),
    )
    y_title = "Correlation r (95% interval)"
    band = data["band"].dropna()
    half = float(band.iloc[0]) if not band.empty else 0.0
    reach = [half, *data[["r", "ci_low", "ci_high"]].abs().max(skipna=True).fillna(0.0)]
    top = min(1.0, max(0.05, *reach) * 1.1)
    y_scale = alt.Scale(domain=[-top, top], nice=False)
    layers: list[alt.Chart] = []
    if half:
        layers.append(
            alt.Chart(pd.DataFrame({"low": [-half], "high": [half]}))
            .mark_rect(color="#7f8b99", opacity=0.25)
            .encode(y=alt.Y("low:Q", title=y_title, scale=y_scale), y2="high:Q")
        )
    layers.append(
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(color="#5f6b7a")
        .encode(y=alt.Y("zero:Q", scale=y_scale))
    )
    layers.append(
        alt.Chart(data)
        .mark_rule(color="#5f6b7a", strokeWidth=1.5)
        .encode(x=x, y=alt.Y("ci_low:Q", title=y_title, scale=y_scale), y2="ci_high:Q")
    )
    layers.append(
        alt.Chart(data)
        .mark_point(filled=True, opacity=1.0)
        .encode(
            x=x,
            y=alt.Y("r:Q", title=y_title, scale=y_scale),
            color=alt.Color(
                f"{significant}:N",
                scale=alt.Scale(domain=domain, range=[BAR_COLOUR, LINE_COLOUR, MUTED]),
                legend=alt.Legend(orient="bottom", title=significant),
            ),
            shape=alt.Shape(
                f"{significant}:N",
                scale=alt.Scale(domain=domain, range=["circle", "diamond", "cross"]),
            ),
            size=alt.Size(f"{significant}:N", scale=alt.Scale(domain=domain, range=[60, 160, 90])),
            tooltip=[
                alt.Tooltip("lag:O", title=f"Lag ({unit}s)"),
                alt.Tooltip("r:Q", format="+.2f"),
                alt.Tooltip("ci_low:Q", title="95% low", format="+.2f"),
                alt.Tooltip("ci_high:Q", title="95% high", format="+.2f"),
                *(
                    [
                        alt.Tooltip("p_robust_adj:Q", title="Robust adjusted p", format=".3f"),
                        alt.Tooltip("robust_test:N", title="Robust test"),
                    ]
                    if robust
                    else []
                ),
                alt.Tooltip("p_adj:Q", title="Classic adjusted p", format=".3f"),
            ],
        )
    )
    marked = "robust adjusted p" if robust else "adjusted p (classic)"
    subtitle = f"Dots: r at each lag · Whiskers: 95% interval · Diamonds: {marked} < 0.05"
    if robust:
        subtitle += " · Crosses: not testable"
    if half:
        subtitle += " · Grey band: 95% range expected from noise alone"
    title = f"Cross-correlation: {theme_label} vs {series_label}"
    chart: ChartLike = alt.layer(*layers).properties(title=_title(title, subtitle), height=300)
    n_sig = int((data[significant] == "yes").sum())
    sentence = (
        f"r at {len(data)} lags from {int(data['lag'].min())} to {int(data['lag'].max())} "
        f"{unit}s, largest |r| {data['r'].abs().max():.2f}"
        + (f", noise band ±{half:.2f}" if half else "")
        + f"; {n_sig} lag{'s' if n_sig != 1 else ''} significant after adjustment "
        + f"({marked} < 0.05)"
        + _untestable_sentence(verdicts)
        + "."
    )
    return described(chart, title, sentence)


def _untestable_sentence(verdicts: pd.Series) -> str:
    """ "; 2 lags not testable (one period carries the fit)", or nothing."""
    reasons = [v.split(":", 1)[1].strip() for v in verdicts if ":" in v]
    if not reasons:
        return ""
    plural = "s" if len(reasons) != 1 else ""
    return f"; {len(reasons)} lag{plural} not testable ({'; '.join(sorted(set(reasons)))})"


# --- discovered topics ------------------------------------------------------------------

# Lineage events in the order a topic's life reads, each with a fixed colour.
LINEAGE_EVENTS = ("birth", "continue", "merge", "split", "death")
LINEAGE_COLOURS = (OKABE_ITO[3], MUTED, OKABE_ITO[2], OKABE_ITO[4], LINE_COLOUR)


def _topic_colour(n_topics: int) -> alt.Legend | None:
    # Past 20 topics the colours repeat and a legend stops helping: tooltips name them.
    return None if n_topics > 20 else alt.Legend(orient="bottom", columns=3, labelLimit=260)


def topic_map(
    points: pd.DataFrame,
    explained: tuple[float, float],
    *,
    highlight: str | None = None,
    total: int | None = None,
) -> ChartLike:
    """Every sampled story as a dot, placed by the first two principal components.

    ``points`` has columns x, y, topic_id, topic_label, title, source, published_at;
    ``highlight``: a topic id drawn strongest, the others faded. Principal components
    of unit vectors have no unit: nearby dots are stories with similar embeddings.
    """
    shown = len(points)
    sample = f"{shown:,} of {total:,} stories" if total and total > shown else f"{shown:,} stories"
    subtitle = f"{sample}; each dot is a story, nearby dots have similar embeddings"
    # Without a highlight no dot matches it, and every dot gets the plain opacity.
    opacity = alt.condition(
        alt.datum.topic_id == (highlight or ""),
        alt.value(0.95),
        alt.value(0.12 if highlight else 0.75),
    )
    chart: ChartLike = (
        alt.Chart(points)
        .mark_circle(size=36)
        .encode(
            x=alt.X(
                "x:Q",
                title=f"Principal component 1 (unitless, {explained[0]:.0%} of variance)",
                axis=alt.Axis(labels=False, ticks=False),
            ),
            y=alt.Y(
                "y:Q",
                title=f"Principal component 2 (unitless, {explained[1]:.0%} of variance)",
                axis=alt.Axis(labels=False, ticks=False),
            ),
            color=alt.Color(
                "topic_label:N",
                title="Topic",
                scale=alt.Scale(scheme="tableau20"),
                legend=_topic_colour(int(points["topic_id"].nunique()) if shown else 0),
            ),
            opacity=opacity,
            tooltip=[
                alt.Tooltip("title:N", title="Title"),
                alt.Tooltip("topic_label:N", title="Topic"),
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("published_at:T", title="Published (UTC)", format="%d %b %Y"),
            ],
        )
        .properties(
            title=_title("Map of stories by embedding", subtitle), height=420, autosize=FIT_WIDTH
        )
    )
    return described(
        chart,
        "Map of stories by embedding",
        f"{sample.capitalize()} as dots coloured by topic; stories close together are similar.",
    )


def topic_volume(
    volume: pd.DataFrame, labels: dict[str, str], *, freq: str, highlight: str | None = None
) -> ChartLike:
    """Stacked stories per topic per week or month; ``highlight`` (a topic id) strongest.

    ``volume`` has columns topic_id, period (the Monday or the first of the month),
    stories; ``labels`` maps topic ids to labels.
    """
    per = "week" if freq == "week" else "month"
    frame = volume.copy()
    frame["label"] = frame["topic_id"].map(labels).fillna(frame["topic_id"])
    # Each bar spans its period, so bars keep a gap on any chart width.
    step = pd.DateOffset(days=6) if per == "week" else pd.offsets.MonthEnd(0)
    frame["period_end"] = pd.to_datetime(frame["period"]) + step
    date_format = "%d %b %Y" if per == "week" else "%b %Y"
    opacity = alt.condition(
        alt.datum.topic_id == (highlight or ""),
        alt.value(1.0),
        alt.value(0.2 if highlight else 0.9),
    )
    subtitle = f"Stories per {per} (syndicated copies count once)"
    if highlight is not None:
        subtitle += f" · {labels.get(highlight, highlight)} highlighted"
    chart: ChartLike = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("period:T", title=per.capitalize(), axis=alt.Axis(format="%b %Y")),
            x2="period_end:T",
            y=alt.Y("sum(stories):Q", title=f"Stories per {per}", stack=True),
            color=alt.Color(
                "label:N",
                title="Topic",
                scale=alt.Scale(scheme="tableau20"),
                legend=_topic_colour(len(labels)),
            ),
            opacity=opacity,
            order=alt.Order("label:N"),
            tooltip=[
                alt.Tooltip("period:T", title=f"{per.capitalize()} of", format=date_format),
                alt.Tooltip("label:N", title="Topic"),
                alt.Tooltip("sum(stories):Q", title="Stories"),
            ],
        )
        .properties(
            title=_title("Stories per topic over time", subtitle), height=260, autosize=FIT_WIDTH
        )
    )
    return described(
        chart,
        "Stories per topic over time",
        f"Stacked bars count each topic's stories per {per}.",
    )


def topic_lineage(events: pd.DataFrame, *, step_title: str) -> ChartLike:
    """Lineage events per step (a window, or a rebuild), stacked by kind.

    ``events`` has columns step (text, sorts in time order) and event; ``step_title``
    names what a step is, e.g. "Quarter" or "Build (UTC)".
    """
    chart: ChartLike = (
        alt.Chart(events[["step", "event"]])
        .mark_bar()
        .encode(
            x=alt.X("step:O", title=step_title, sort="ascending", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("count():Q", title="Events (topics)", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "event:N",
                title="Event",
                scale=alt.Scale(domain=list(LINEAGE_EVENTS), range=list(LINEAGE_COLOURS)),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("event_order:Q"),
            tooltip=[
                alt.Tooltip("step:O", title=step_title),
                alt.Tooltip("event:N", title="Event"),
                alt.Tooltip("count():Q", title="Topics"),
            ],
        )
        .transform_calculate(
            event_order=f"indexof({list(LINEAGE_EVENTS)!r}, datum.event)",
        )
        .properties(
            title=_title(
                "Topic lineage over time",
                "Births, continuations, merges, splits and deaths of topics at each step",
            ),
            height=220,
            autosize=FIT_WIDTH,
        )
    )
    return described(
        chart,
        "Topic lineage over time",
        f"Stacked bars count topic births, continuations, merges, splits and deaths per "
        f"{step_title.lower()}.",
    )


def origin_monthly(frame: pd.DataFrame) -> ChartLike:
    """Stacked stories per origin per month: where the database's history comes from.

    ``frame`` has columns month (first day), origin, stories.
    """
    data = frame.copy()
    data["month_end"] = pd.to_datetime(data["month"]) + pd.offsets.MonthEnd(0)
    chart: ChartLike = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("month:T", title="Month", axis=alt.Axis(format="%b %Y", labelAngle=0)),
            x2="month_end:T",
            y=alt.Y("sum(stories):Q", title="Stories per month", stack=True),
            color=alt.Color(
                "origin:N",
                title="Origin",
                scale=alt.Scale(
                    domain=["feed", "archive", "gdelt", "import", "mail"], range=list(OKABE_ITO[:5])
                ),
            ),
            order=alt.Order("origin:N"),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%b %Y"),
                alt.Tooltip("origin:N", title="Origin"),
                alt.Tooltip("sum(stories):Q", title="Stories"),
            ],
        )
        .properties(
            title=_title(
                "Stories per origin per month",
                "feed: RSS/Atom and newsletters · archive: outlet archives · gdelt: GDELT "
                "DOC API · import: imported lists · mail: mailboxes",
            ),
            height=260,
            autosize=FIT_WIDTH,
        )
    )
    return described(
        chart,
        "Stories per origin per month",
        "Stacked bars count each month's stories by where they came from.",
    )
