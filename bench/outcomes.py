"""Planted versus recovered: trajectories, what followed engagement and who each service reaches.

For each seed the demo generator writes fresh SYNTHETIC records for Oldham with the planted
outcomes of ``needmap.synthetic_outcomes`` (a ward whose families engaged fall by 25% a year;
re-referral 0.30 / 0.15 and step-up 0.12 / 0.03 for early help / children's centres; early help
targeted on need), ``needmap refresh`` builds a snapshot, and the published (protected) figures
are compared with the truth:

* the planted ward's yearly rate ratio with its 95% interval, and its verdict; how many other
  wards are called rising or falling (false alarms);
* each service's re-referral and step-up shares for the financial-year cohort and the pooled
  quarterly cohorts, with Wilson 95% intervals;
* each service's concentration index against the index of the families as drawn (protection
  only) and as the design expects (plus the sampling of the service draw).

    python bench/outcomes.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def wilson(k: float, n: float) -> tuple[float, float]:
    """The Wilson score 95% interval of a share k / n (scipy's binomial test)."""
    ci = stats.binomtest(round(k), round(n)).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def config_for(folder: Path, tmp: Path, name: str) -> Path:
    text = (ROOT / "needmap.toml").read_text()
    text = text.replace('"data/synthetic/', f'"{folder}/')
    text = re.sub(r'(path|lookup) = "(?!/)([^"]+)"',
                  lambda m: f'{m.group(1)} = "{ROOT / m.group(2)}"', text)
    text = text.replace('folder = "output"', f'folder = "{folder / "output"}"')
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def run_seed(seed: int, tmp: Path) -> list[dict]:
    from needmap.config import load_config
    from needmap.outputs.followup import followup_table
    from needmap.outputs.targeting import targeting_table
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot
    from needmap.synthetic import read_truth, write_demo_data

    folder = tmp / f"seed{seed}"
    config = load_config(config_for(folder, tmp, f"seed{seed}"))
    t0 = time.perf_counter()
    write_demo_data(config, folder, seed=seed)
    t1 = time.perf_counter()
    snap = load_snapshot(refresh(config, force=True).snapshot_path)
    t2 = time.perf_counter()
    truth = read_truth(folder / "planted_truth.csv")
    rows = []

    ward = truth[truth["kind"] == "reach_trend"].iloc[0]
    trends = snap.trends("ward")
    reach = trends[trends["measure"] == "families_engaged"].set_index("area_code")
    r = reach.loc[ward["area_code"]]
    others = reach.drop(index=ward["area_code"])
    alarms = others["verdict"].isin(["rising", "falling"]).sum()
    rows.append({"seed": seed, "figure": f"ward {ward['area_code']} yearly rate ratio",
                 "planted": ward["value"], "recovered": r["rate_ratio"],
                 "lower": r["rate_ratio_lower"], "upper": r["rate_ratio_upper"],
                 "note": f"{r['verdict']}; other wards rising/falling: {alarms} of "
                         f"{len(others)}"})

    follow = followup_table(snap, "authority")
    labels = {"early_help": "Early help", "childrens_centre": "Children's centres"}
    for service, label in labels.items():
        f = follow[follow["service"] == label]
        for kind, col in (("rereferral", "rereferred"), ("step_up", "stepped_up")):
            planted = truth[(truth["kind"] == kind) & (truth["service"] == service)]["value"]
            planted = float(planted.iloc[0])
            for cohort, sel in (("FY2023-24", f[f["cohort"] == "FY2023-24"]),
                                ("8 quarters", f[f["cohort"].str.contains("Q")])):
                k = pd.to_numeric(sel[col], errors="coerce").sum()
                n = pd.to_numeric(sel["families"], errors="coerce").sum()
                lo, hi = wilson(k, n)
                rows.append({"seed": seed, "figure": f"{label} {kind} share, {cohort}",
                             "planted": planted, "recovered": k / n, "lower": lo, "upper": hi,
                             "note": f"{int(k)} of {int(n)} families"})

    target = targeting_table(snap).set_index("service")
    for service, label in labels.items():
        t = truth[(truth["kind"] == "targeting") & (truth["service"] == service)].iloc[0]
        r = target.loc[label]
        rows.append({"seed": seed, "figure": f"{label} concentration index",
                     "planted": t["value"], "recovered": r["concentration_index"],
                     "lower": r["ci_lower"], "upper": r["ci_upper"],
                     "note": f"design expects {t['expected']:+.3f}; {r['targeting']}"})
    rows.append({"seed": seed, "figure": "seconds: demo-data / refresh",
                 "planted": float("nan"), "recovered": float("nan"), "lower": t1 - t0,
                 "upper": t2 - t1, "note": ""})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(42, 42 + args.seeds):
            rows += run_seed(seed, Path(tmp))
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    figures = df[~df["figure"].str.startswith("seconds")].copy()
    figures["inside"] = (figures["lower"] <= figures["planted"]) & (
        figures["planted"] <= figures["upper"])
    print(figures.round(3).to_string(index=False))
    print()
    print("Planted value inside the 95% interval, by figure (over seeds):")
    print(figures.groupby("figure", sort=False)["inside"].agg(["sum", "count"]).to_string())
    secs = df[df["figure"].str.startswith("seconds")]
    print(f"\nMean seconds: demo-data {secs['lower'].mean():.1f}, refresh "
          f"{secs['upper'].mean():.1f}")


if __name__ == "__main__":
    main()
