"""How well do the off-the-radar flags find the planted areas? Recall and precision over seeds.

For each seed the demo generator writes fresh SYNTHETIC records for Oldham with its documented
planted areas (``kind = off_radar``: high need, engagement x 0.35), ``needmap refresh`` builds a
snapshot over the chosen period, and the flags are scored against the planted truth at LSOA level,
beside the naive rule "top need quintile and bottom engagement-rate quintile".

Targets: recall >= 0.9 and precision >= 0.8, better than the naive rule on both.

    python bench/radar_accuracy.py [--seeds 20] [--period all|year]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def scores(flagged: set[str], truth: set[str]) -> tuple[float, float]:
    tp = len(flagged & truth)
    recall = tp / len(truth) if truth else float("nan")
    precision = tp / len(flagged) if flagged else float("nan")
    return recall, precision


def run_seed(seed: int, tmp: Path, period: str, method: str, settings=None) -> dict:
    from needmap.config import load_config
    from needmap.radar import FLAG_OFF_RADAR, find_off_the_radar, naive_flags
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot
    from needmap.synthetic import default_window, write_demo_data

    folder = tmp / f"seed{seed}"
    text = (ROOT / "needmap.toml").read_text()
    text = re.sub(r'path = "(?!/)([^"]+)"', lambda m: f'path = "{ROOT / m.group(1)}"', text)
    text = text.replace('"data/synthetic/', f'"{folder}/')
    text = text.replace('folder = "output"', f'folder = "{folder / "output"}"')
    cfg_path = tmp / f"seed{seed}.toml"
    cfg_path.write_text(text)
    config = load_config(cfg_path)
    write_demo_data(config, folder, seed=seed)
    start, end = default_window()
    if period == "year":
        start = dt.date(end.year - 1, end.month, 1) + dt.timedelta(days=31)
        start = dt.date(start.year, start.month, 1)
    snap = load_snapshot(refresh(config, start=start, end=end, force=True).snapshot_path)
    truth_df = __import__("pandas").read_csv(folder / "planted_truth.csv", comment="#")
    truth = set(truth_df.loc[truth_df["kind"] == "off_radar", "lsoa_code"])
    flags = find_off_the_radar(snap.lsoa, level="lsoa", method=method, settings=settings,
                               authority_name=config.authority.name, random_state=seed)
    ours = set(flags.loc[flags["flag"] == FLAG_OFF_RADAR, "area_code"])
    naive = naive_flags(snap.lsoa, level="lsoa", measure="families_engaged",
                        need="idaci_score", exposure="children")
    naive_set = set(naive[naive].index)
    r, p = scores(ours, truth)
    nr, np_ = scores(naive_set, truth)
    return {"recall": r, "precision": p, "naive_recall": nr, "naive_precision": np_,
            "flagged": len(ours), "naive_flagged": len(naive_set)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--period", choices=["all", "year"], default="all",
                    help="score flags over the whole three years (default) or the last year")
    ap.add_argument("--method", choices=["indirect", "poisson"], default="poisson")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a RadarSettings value, e.g. --set use_clusters=false")
    args = ap.parse_args()
    from needmap.radar import RadarSettings

    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = {"true": True, "false": False}.get(value.lower(), None)
        if overrides[key] is None:
            overrides[key] = float(value) if "." in value else int(value)
    settings = RadarSettings(**overrides)
    rows = []
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            rows.append(run_seed(seed, Path(tmp), args.period, args.method, settings))
    import pandas as pd

    df = pd.DataFrame(rows)
    # Precision over seeds pools the flags (a seed with no flag has no precision of its own).
    print(f"{args.seeds} seeds, period={args.period}, method={args.method}, settings "
          f"{overrides or 'default'}, "
          f"{time.perf_counter() - t:.0f} s")
    print(f"needmap flags : recall {df.recall.mean():.3f} (min {df.recall.min():.2f}), "
          f"precision {np.nanmean(df.precision):.3f} (min {np.nanmin(df.precision):.2f}), "
          f"{df.flagged.mean():.1f} flagged per seed")
    print(f"naive rule    : recall {df.naive_recall.mean():.3f}, precision "
          f"{np.nanmean(df.naive_precision):.3f}, {df.naive_flagged.mean():.1f} flagged per seed")
    print("targets: recall >= 0.9, precision >= 0.8, better than the naive rule on both")


if __name__ == "__main__":
    main()
