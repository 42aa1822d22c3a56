"""Reproduce the numbers in docs/FINDINGS.md: GDELT lithium news volume vs Li2CO3 spot.

Runs the real ``newsintel`` CLI on a scratch database: it trims both CSV files to the
window, drops zero prices (days without a quote), imports them, runs ``analyze`` at
weekly and monthly frequency in both directions, saves each JSON answer and prints a
summary. Usage (from the repository root):

    .venv/bin/python scripts/findings.py [--data ../shared/data] [--out /tmp/findings]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ATTENTION = "attention/gdelt_lithium_news_daily_volume_tone_2016-2023.csv"
PRICES = "prices/cn_li2co3_lioh_spot_daily_wind_2005-2023.csv"
START, END = "2017-01-01", "2023-05-19"
# The 2021-2023 boom on its own: the spot rose about tenfold and fell back.
BOOM_START = "2021-01-01"
RUNS = [
    ("series:gdelt", "series:li2co3", "W", 8),
    ("series:li2co3", "series:gdelt", "W", 8),
    ("series:gdelt", "series:li2co3", "M", 6),
    ("series:li2co3", "series:gdelt", "M", 6),
]
BOOM_RUNS = [
    ("series:gdelt", "series:li2co3", "W", 8),
    ("series:li2co3", "series:gdelt", "W", 8),
]


def trim(
    source: Path, target: Path, column: str, *, drop_zero: bool, start: str = START
) -> tuple[int, int]:
    """Write date,value rows inside the window; return (rows kept, zero rows dropped)."""
    kept = dropped = 0
    with source.open(newline="") as fin, target.open("w", newline="") as fout:
        writer = csv.writer(fout)
        writer.writerow(["date", "value"])
        for row in csv.DictReader(fin):
            if not start <= row["date"] <= END:
                continue
            if drop_zero and float(row[column]) == 0:
                # Zero marks a day without a quote, not a price of zero: leave the day out.
                dropped += 1
                continue
            writer.writerow([row["date"], row[column]])
            kept += 1
    return kept, dropped


def newsintel(db: Path, *args: str) -> str:
    """Run the CLI; stop with its message on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "newsintel", "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode:
        sys.exit(f"newsintel {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def summary(result: dict[str, Any]) -> list[str]:
    """The numbers FINDINGS.md quotes, one line each."""
    lines = [
        f"## {result['x']} -> {result['y']} ({result['freq']}): n_obs={result['n_obs']}, "
        f"n_used={result['n_used']}, window {result['window'][0]}..{result['window'][1]}, "
        f"BH over {result['bh_tests']} tests, best_lag={result['best_lag']}"
    ]
    for side in ("x", "y"):
        t = result["transforms"][side]
        before, after = t["stationarity_input"], t["stationarity"]
        lines.append(
            f"  {side}: {t['input']}; ADF p={before['adf_p']:.3g} KPSS p={before['kpss_p']:.3g} "
            f"({before['verdict']}); differenced {t['differences']}x -> ADF p={after['adf_p']:.3g}"
            f" KPSS p={after['kpss_p']:.3g} ({after['verdict']})"
        )
    top = sorted(result["ccf"], key=lambda c: -abs(c["r"] or 0))[:3]
    for c in top:
        lines.append(
            f"  ccf lag {c['lag']:+d}: r={c['r']:+.3f} ci=[{c['ci'][0]:+.3f},{c['ci'][1]:+.3f}] "
            f"p={c['p']:.4f} p_adj={c['p_adj']:.4f} (band +-{result['ccf_band']:.3f})"
        )
    for direction in ("x->y", "y->x"):
        tests = [g for g in result["granger"] if g["direction"] == direction]
        best = min(tests, key=lambda g: g["p"])
        lines.append(
            f"  granger {direction}: min p at lag {best['lag']}: F={best['statistic']:.2f} "
            f"p={best['p']:.4f} p_adj={best['p_adj']:.4f}; all p_adj >= "
            f"{min(g['p_adj'] for g in tests):.4f}"
        )
    lines.append(f"  lag order AIC/BIC: {result['lag_order']}")
    for direction, test in (result.get("primary") or {}).items():
        lines.append(
            f"  primary {direction}: lag {test['lag']} ({test['criterion']}), "
            f"p={test['p']:.4f} p_robust={test['p_robust']:.4f} ({test['robust']})"
        )
    robust = [c for c in result["ccf"] if c["p_robust_adj"] is not None]
    if robust:
        c = min(robust, key=lambda c: c["p_robust_adj"])
        lines.append(
            f"  ccf smallest robust p_adj: lag {c['lag']:+d} p_robust={c['p_robust']:.4f} "
            f"p_robust_adj={c['p_robust_adj']:.4f}"
        )
    oos = result.get("oos")
    if oos:
        lines.append(
            f"  oos x->y lag {oos['lag']}: mse_ratio={oos['mse_ratio']:.4f} "
            f"clark_west_p={oos['clark_west_p']:.4f} n_forecasts={oos['n_forecasts']}"
        )
    fragile, power = result.get("fragile") or {}, result.get("power") or {}
    lines.append(
        f"  power: min_detectable_r={power.get('min_detectable_r'):.3f} at n={power.get('n')}"
        f" over {power.get('tests')} tests; fragile={fragile.get('fragile')} "
        f"(lag {fragile.get('lag')}, p_range {fragile.get('p_range')})"
    )
    lines.append(f"  periods: {result.get('periods')}")
    regimes = result.get("regimes")
    if regimes:
        lines.append(
            f"  regimes ({regimes['source']}, breaks {regimes['breaks']}): change p="
            f"{regimes['change_test']['p']}"
        )
    rolling = result["rolling"]
    if rolling:
        lines.append(
            f"  rolling r (window {rolling['window']}, {rolling['n_windows']} windows): "
            f"min {rolling['r_min']:+.2f} median {rolling['r_median']:+.2f} max "
            f"{rolling['r_max']:+.2f}; |r|>band in {rolling['share_significant']:.0%}"
        )
        g = rolling["granger"]
        if g:
            lines.append(
                f"  rolling granger x->y lag {g['lag']}: median p {g['p_median']:.3f}, "
                f"p<0.05 in {g['share_below_05']:.0%} of {g['n_windows']} windows"
            )
    cps = result["change_points"]
    if cps:
        lines.append(f"  change points in x: {', '.join(cps['dates']) or 'none'}")
    ev = result["event_study"]
    if ev:
        last = ev["car"][-1]
        lines.append(
            f"  event study: {len(ev['events'])} spikes of x; CAR(y) at +{last['offset']}: "
            f"{last['car']:+.4f} [{last['ci'][0]:+.4f},{last['ci'][1]:+.4f}]"
        )
    irf = result["irf"]
    if irf:
        xy = irf["x_to_y"]
        cells = [
            f"h{h}={v:+.4f}[{lo:+.4f},{hi:+.4f}]"
            for h, (v, lo, hi) in enumerate(zip(xy["irf"], *xy["ci"], strict=True))
            if h <= 3
        ]
        lines.append(f"  irf y<-x (VAR({irf['order']}), n={irf['n_obs']}): {' '.join(cells)}")
    for w in result["warnings"]:
        lines.append(f"  warning: {w}")
    return lines


def prepare(data: Path, out: Path, start: str) -> Path:
    """A fresh database with both series trimmed to ``start``..END."""
    db = out / f"findings-{start}.duckdb"
    db.unlink(missing_ok=True)
    gdelt, li2co3 = out / f"gdelt-{start}.csv", out / f"li2co3-{start}.csv"
    kept_a, _ = trim(data / ATTENTION, gdelt, "num_news", drop_zero=False, start=start)
    kept_p, zeros = trim(data / PRICES, li2co3, "li2co3_99_cny_per_t", drop_zero=True, start=start)
    print(f"from {start}: gdelt {kept_a} days; li2co3 {kept_p} quotes, {zeros} zero rows dropped")
    newsintel(db, "init")
    newsintel(
        db, "series", "import", str(gdelt), "--name", "gdelt", "--kind", "attention",
        "--unit", "articles/day", "--origin", "GDELT lithium news volume (num_news)",
    )  # fmt: skip
    newsintel(
        db, "series", "import", str(li2co3), "--name", "li2co3", "--kind", "price",
        "--unit", "CNY/t", "--currency", "CNY", "--origin", "China Li2CO3 99% spot (Wind)",
    )  # fmt: skip
    return db


def main() -> None:
    """Prepare, import, analyse, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("/tmp/newsintel-findings"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for start, runs, tag in ((START, RUNS, ""), (BOOM_START, BOOM_RUNS, "_boom")):
        db = prepare(args.data, args.out, start)
        for x, y, freq, lag in runs:
            out = newsintel(db, "analyze", x, y, "--freq", freq, "--max-lag", str(lag), "--json")
            result = json.loads(out)
            name = f"{x.split(':')[1]}_to_{y.split(':')[1]}_{freq}{tag}.json"
            (args.out / name).write_text(out)
            print("\n".join(summary(result)))


if __name__ == "__main__":
    main()
