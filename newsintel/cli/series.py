"""The `series` group and `newsintel analyze`: price series and their lead/lag with themes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.cli.common import command, emit_json, json_option, missing, progress
from newsintel.config import Settings
from newsintel.errors import NewsintelError
from newsintel.models import ORIGINS

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_series_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import import_series

    report = import_series(
        settings,
        Path(args.file),
        name=args.name,
        date_col=args.date_col,
        value_col=args.value_col,
        unit=args.unit,
        currency=args.currency,
        kind=args.kind,
        origin=args.origin,
        series_filter=args.series_filter,
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"series {report.series_id} ({report.kind}): {report.points} points "
        f"{report.first_date} .. {report.last_date}"
    )
    return 0


def cmd_series_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import list_series

    summaries = list_series(settings)
    if args.json:
        emit_json(summaries)
        return 0
    for s in summaries:
        print(
            f"{s.series_id:<24} {s.kind:<9} {s.unit:<18} {s.points:>6} points "
            f"{s.first_date} .. {s.last_date}"
        )
    return 0


def cmd_series_show(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import show_series

    data = show_series(settings, args.name).to_dict()
    if args.json:
        emit_json(data)
        return 0
    print(f"{data['series']} ({data['kind']}, {data['unit'] or 'no unit'}) {data['origin']}")
    print(
        f"  {data['points']} points, {data['first']['date']} .. {data['last']['date']}; "
        f"usual step {data['median_step_days']:g} day(s)"
    )
    print(f"  first {data['first']['value']:g} on {data['first']['date']}")
    print(f"  last  {data['last']['value']:g} on {data['last']['date']}")
    print("  week          mean        last  points")
    for w in data["weekly"]:
        mean, last = w["value_mean"], w["value_last"]
        print(f"  {w['week']}  {mean:>10.4g}  {last:>10.4g}  {w['n_points']:>6}")
    for warning in data["warnings"]:
        print(f"warning: {warning}")
    return 0


def _print_leadlag(result: Any) -> None:
    data = result.to_dict()
    print(
        f"{data['x']} vs {data['y']} ({data['freq']}, n={data['n_obs']}); positive lag: x leads y"
    )
    # The pre-specified tests and the out-of-sample verdict come before the scan.
    for line in data.get("findings", []):
        print(f"finding: {line}")
    print(
        "exploratory scan (* robust p_adj < 0.05, as best lag; robust p_adj: BH over every "
        "robust test of the run, classic p_adj: over every classic one):"
    )
    for point in data["ccf"]:
        print(f"  lag {point['lag']:>+3}  r={_num(point['r'], '+.3f')}  {_robust_text(point)}")
    for g in data.get("granger", []):
        print(
            f"  granger {g['direction']} lag {g['lag']}: p={_num(g['p'], '.4f')} {_robust_text(g)}"
        )
    best, classic = data.get("best_lag"), data.get("best_lag_classic")
    print(
        f"best lag (robust p_adj): {best if best is not None else 'none significant'}; "
        f"classic p_adj: {classic if classic is not None else 'none significant'}"
    )
    _print_periods(data.get("periods"))
    _print_pair_extras(data)
    for warning in data.get("warnings", []):
        print(f"warning: {warning}")


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _robust_text(point: dict[str, Any]) -> str:
    """ "robust p_adj=0.012 * (HC3), classic p_adj=0.034", or "not testable" with the
    reason where the robust p is undefined (never a significance marker then)."""
    classic = f"classic p_adj={_num(point.get('p_adj'), '.3f')}"
    robust, kind = point.get("p_robust_adj"), str(point.get("robust") or "")
    if robust is None:
        why = kind.split(":", 1)[1].strip() if kind.startswith("none:") else "undefined"
        return f"robust: not testable ({why}), {classic}"
    marker = " *" if robust < 0.05 else ""
    return f"robust p_adj={robust:.3f}{marker} ({kind or 'robust'}), {classic}"


def _print_periods(periods: dict[str, Any] | None) -> None:
    """Where the window's periods went, and what was done with partial ones."""
    if periods:
        print(
            f"periods: {periods['used']} used; {periods['dropped_partial']} partial first/last "
            f"{periods.get('partial', 'dropped')} (not scaled by coverage); "
            f"{periods['lost_to_gaps']} lost to gaps, {periods['lost_to_join']} to the join"
        )


def _print_pair_extras(data: dict[str, Any]) -> None:
    """Transforms, rolling, change points, event study and impulse response, briefly."""
    for side in ("x", "y"):
        t = data.get("transforms", {}).get(side, {})
        st = t.get("stationarity", {})
        adf, kpss = st.get("adf_p", float("nan")), st.get("kpss_p", float("nan"))
        print(
            f"{side}: {t.get('input', '')}; differenced {t.get('differences')}x "
            f"(ADF p={adf:.3g}, KPSS p={kpss:.3g})"
        )
    rolling = data.get("rolling")
    if rolling and rolling.get("r_median") is not None:
        print(
            f"rolling r ({rolling['window']} periods, {rolling['n_windows']} windows): "
            f"min {rolling['r_min']:+.2f}, median {rolling['r_median']:+.2f}, "
            f"max {rolling['r_max']:+.2f}; |r| above band in {rolling['share_significant']:.0%}"
        )
    cps = data.get("change_points")
    if cps is not None:
        print(f"change points in x: {', '.join(cps['dates']) or 'none'}")
    events = data.get("event_study")
    if events is not None:
        last = events["car"][-1]
        print(
            f"event study: {len(events['events'])} x spikes; CAR of y at +{last['offset']}: "
            f"{last['car']:+.4f} (95% CI {last['ci'][0]:+.4f} .. {last['ci'][1]:+.4f})"
        )
    power, fragile = data.get("power") or {}, data.get("fragile") or {}
    if power.get("min_detectable_r") is not None:
        print(
            f"power: |r| >= {power['min_detectable_r']:.2f} detectable (80%) at n={power['n']} "
            f"after adjustment over {power['tests']} tests"
        )
    if fragile.get("fragile") is not None:
        lo, hi = fragile["p_range"]
        verdict = (
            f"fragile (decided by {fragile['period']})" if fragile["fragile"] else "not fragile"
        )
        print(
            f"influence, CCF lag {fragile['lag']:+d}: robust p {lo:.3g}..{hi:.3g} leaving one "
            f"period out: {verdict}"
        )
    regimes = data.get("regimes")
    if regimes is not None:
        change = regimes["change_test"]
        p_text = f"{change['p']:.3g}" if change["p"] is not None else "n/a"
        print(
            f"regimes ({regimes['source']}; breaks {', '.join(regimes['breaks'])}): "
            f"change p={p_text}"
        )
    irf = data.get("irf")
    if irf is not None:
        xy = irf["x_to_y"]
        print(
            f"impulse response of y to an x shock (VAR({irf['order']})), h=1: "
            f"{xy['irf'][1]:+.4f} (95% CI {xy['ci'][0][1]:+.4f} .. {xy['ci'][1][1]:+.4f})"
        )


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import analyze, analyze_all

    if args.all:
        if args.x or args.y:
            raise NewsintelError("give either X and Y, or --all, not both")
        report = analyze_all(
            settings,
            freq=args.freq,
            max_lag=args.max_lag,
            progress=progress(args),
            origins=args.origin or (),
        )
        if args.json:
            emit_json(
                {
                    "run_id": report.run_id,
                    "pairs": report.pairs,
                    "failed": report.failed,
                    "results": report.results,
                }
            )
        else:
            print(
                f"run {report.run_id}: {report.pairs} pairs analysed "
                f"({report.not_analysable} not analysable), {len(report.failed)} skipped"
            )
            for r in report.results:
                if not r.analysable:
                    print(f"  {r.x} vs {r.y}: {r.warnings[0]}", file=sys.stderr)
            for theme, series, reason in report.failed:
                print(f"  skipped theme:{theme} vs series:{series}: {reason}", file=sys.stderr)
        return 0
    if not (args.x and args.y):
        raise NewsintelError("give X and Y (theme:<name> or series:<name>), or --all")
    split = None
    if args.split:
        from datetime import date

        try:
            split = date.fromisoformat(args.split)
        except ValueError:
            raise NewsintelError(f"--split must be a date YYYY-MM-DD, got {args.split!r}") from None
    result = analyze(
        settings,
        args.x,
        args.y,
        freq=args.freq,
        max_lag=args.max_lag,
        split=split,
        origins=args.origin or (),
    )
    if args.json:
        emit_json(result)
    elif not result.analysable:
        # Stored as a not_analysable row; a warning, not an error (issue 17).
        print(f"{args.x} vs {args.y} ({args.freq}): nothing to report")
        for warning in result.warnings:
            print(f"warning: {warning}")
    else:
        _print_leadlag(result)
    return 0


def add_series(sub: Subparsers) -> None:
    """The `series` group."""
    series = command(
        sub,
        "series",
        missing,
        "price and attention series",
        "newsintel series list",
    )
    series_sub = series.add_subparsers(dest="series_command", metavar="ACTION", required=True)
    p = command(
        series_sub,
        "import",
        cmd_series_import,
        "import a dated series from CSV",
        "newsintel series import prices.csv --name lithium_carbonate --value-col close "
        "--unit CNY/t --kind price",
    )
    p.add_argument("file", metavar="FILE", help="CSV file with a date column")
    p.add_argument("--name", required=True, help="series name, used as series:<name>")
    p.add_argument("--date-col", metavar="C", help="date column (default: date)")
    p.add_argument(
        "--value-col", metavar="V", help="value column (default: value, or the only numeric one)"
    )
    p.add_argument("--unit", metavar="U", default="", help="unit, e.g. CNY/t")
    p.add_argument("--currency", default="", help="currency code, e.g. CNY")
    p.add_argument("--kind", choices=["price", "attention"], default="price", help="series kind")
    p.add_argument("--origin", default="", help="where the data comes from")
    p.add_argument(
        "--series-filter", metavar="S", help="in a long CSV (a series column), the series to take"
    )
    p = command(
        series_sub,
        "list",
        cmd_series_list,
        "list series",
        "newsintel series list --json",
        parents=[json_option("print JSON")],
    )
    p = command(
        series_sub,
        "show",
        cmd_series_show,
        "one series: coverage, first and last points, gaps, the last 8 weeks",
        "newsintel series show lithium_carbonate --json",
        parents=[json_option("print JSON")],
    )
    p.add_argument("name", metavar="NAME", help="series name (as in series list)")


def add_analyze(sub: Subparsers) -> None:
    """`newsintel analyze`."""
    p = command(
        sub,
        "analyze",
        cmd_analyze,
        "lead/lag of X against Y (positive lag: X leads Y)",
        "newsintel analyze theme:lithium_batteries series:lithium_carbonate --freq W --json",
        parents=[json_option("print JSON")],
    )
    p.add_argument("x", nargs="?", metavar="X", help="theme:<name> or series:<name>")
    p.add_argument("y", nargs="?", metavar="Y", help="theme:<name> or series:<name>")
    p.add_argument("--freq", choices=["D", "W", "M"], default="W", help="resampling frequency")
    p.add_argument("--max-lag", type=int, default=8, metavar="N", help="largest lag tested")
    p.add_argument("--all", action="store_true", help="every theme against every price series")
    p.add_argument(
        "--split",
        metavar="YYYY-MM-DD",
        help="compare the relation before and after this date (default: x's change points)",
    )
    p.add_argument(
        "--origin",
        action="append",
        choices=ORIGINS,
        help="count only stories of this origin in theme series (repeatable)",
    )
