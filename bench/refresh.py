"""Benchmark ``needmap refresh``: seconds and peak memory.

(a) the bundled Oldham demo (142 LSOAs, 20 wards, ~16,000 synthetic records);
(b) all 6,903 English wards and 32,844 LSOAs from the shared national files, with 1,000,000
    synthetic records located by easting/northing.

Each case runs in a fresh child process so its peak memory (ru_maxrss) is its own. Times are for
``refresh()`` only (imports and record generation excluded; import time is printed apart).
Targets: (a) < 2 s; (b) < 10 s and < 4 GB.

    python bench/refresh.py [--shared ../shared/data] [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NATIONAL = """
[authority]
code = "E92000001"
name = "England"

[boundaries.ward]
path = "{shared}/national/wards_dec2022_bsc_england.gpkg"
layer = "wards"
code_column = "wd22cd"
name_column = "wd22nm"

[boundaries.lsoa]
path = "{shared}/national/lsoa11_bsc_england.gpkg"
layer = "lsoa11"
code_column = "lsoa11cd"
name_column = "lsoa11nm"

[deprivation]
path = "{shared}/national/iod2019_lsoa11_england.csv"
vintage = "IoD2019"
lsoa_vintage = "LSOA2011"
code_column = "lsoa11cd"
children_column = "pop_children_0_15_mid2015"
children_age_band = "0-15"
population_column = "pop_total_mid2015"
imd_rank_column = "imd_rank"
imd_score_column = "imd_score_derived"
idaci_rank_column = "idaci_rank"
idaci_score_column = "idaci_rate_approx"

[lookup]
path = "{shared}/national/lookups/lsoa11_to_ward22_bestfit_computed_england.csv"
lsoa_column = "lsoa11cd"
ward_column = "wd22cd"

[records]
referrals = ["{tmp}/referrals.csv"]
engagement = ["{tmp}/engagement.csv"]

[output]
folder = "{tmp}/output"
"""


def national_data(shared: str) -> Path | None:
    """The shared data folder if it holds ``national/``; otherwise None, saying (b) is skipped."""
    folder = Path(shared).resolve()
    if not (folder / "national").is_dir():
        print(f"(b) skipped: {folder}/national not found (pass --shared)")
        return None
    return folder


def make_national_records(shared: Path, tmp: Path, n: int, seed: int = 1) -> None:
    """Write ``n`` synthetic records (70% referrals, 30% engagement) by easting/northing."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    lsoa = gpd.read_file(shared / "national/lsoa11_bsc_england.gpkg", layer="lsoa11").to_crs(
        27700
    )
    iod = pd.read_csv(shared / "national/iod2019_lsoa11_england.csv",
                      usecols=["lsoa11cd", "pop_children_0_15_mid2015"])
    lsoa = lsoa.merge(iod, on="lsoa11cd")
    p = lsoa["pop_children_0_15_mid2015"].to_numpy(float)
    pick = rng.choice(len(lsoa), size=n, p=p / p.sum())
    pts = lsoa.geometry.representative_point()
    x = pts.x.to_numpy()[pick] + rng.normal(0, 40, n)
    y = pts.y.to_numpy()[pick] + rng.normal(0, 40, n)
    days = rng.integers(0, 365, n)
    dates = (np.datetime64("2024-10-01") + days.astype("timedelta64[D]")).astype(str)
    k = int(n * 0.7)
    pd.DataFrame({
        "referral_id": np.char.add("R", np.arange(k).astype(str)),
        "person_id": np.char.add("P", rng.integers(0, int(k * 0.8), k).astype(str)),
        "referral_date": dates[:k],
        "referral_source": rng.choice(["Police", "Schools", "Health", "LA", "Self", "Other"], k),
        "easting": x[:k].round(0).astype(int),
        "northing": y[:k].round(0).astype(int),
    }).to_csv(tmp / "referrals.csv", index=False)
    m = n - k
    pd.DataFrame({
        "engagement_id": np.char.add("E", np.arange(m).astype(str)),
        "family_id": np.char.add("F", rng.integers(0, int(m * 0.8), m).astype(str)),
        "engagement_date": dates[k:],
        "service": rng.choice(["Early help", "Children's centre"], m),
        "priority_family": rng.choice(["Y", "N"], m),
        "easting": x[k:].round(0).astype(int),
        "northing": y[k:].round(0).astype(int),
    }).to_csv(tmp / "engagement.csv", index=False)


def child(config: str) -> None:
    """Run one refresh in this process and print JSON figures."""
    t0 = time.perf_counter()
    from needmap.config import load_config
    from needmap.refresh import refresh

    t_import = time.perf_counter() - t0
    cfg = load_config(config)
    steps: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def step(name: str) -> None:
        now = time.perf_counter()
        if last[1]:
            steps[last[1]] = now - last[0]
        last[0], last[1] = now, name

    t1 = time.perf_counter()
    result = refresh(cfg, progress=step, force=True)
    seconds = time.perf_counter() - t1
    steps[last[1]] = time.perf_counter() - last[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "seconds": seconds, "import_seconds": t_import, "peak_mb": peak_mb, "steps": steps,
        "wards": result.manifest["n_wards"], "lsoas": result.manifest["n_lsoas"],
        "records_used": sum(result.manifest["rows"].values()),
    }))


def run_case(config: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(config)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(name: str, r: dict, target_s: float, target_mb: float | None = None) -> None:
    steps = ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
    mem = f"peak {r['peak_mb']:,.0f} MB" + (f" (target < {target_mb:,.0f})" if target_mb else "")
    print(f"{name}: refresh {r['seconds']:.2f} s (target < {target_s:.0f} s), {mem}; "
          f"{r['wards']:,} wards, {r['lsoas']:,} LSOAs, {r['records_used']:,} records used; "
          f"imports {r['import_seconds']:.2f} s")
    print(f"    steps (s): {steps}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--skip-national", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        demo = (ROOT / "needmap.toml").read_text().replace(
            'folder = "output"', f'folder = "{tmp / "demo-output"}"'
        )
        demo_cfg = ROOT / f".bench-demo-{os.getpid()}.toml"
        demo_cfg.write_text(demo)
        try:
            report("(a) Oldham demo", run_case(demo_cfg), 2)
        finally:
            demo_cfg.unlink()
        shared = None if args.skip_national else national_data(args.shared)
        if shared is None:
            return
        t = time.perf_counter()
        make_national_records(shared, tmp, args.records)
        print(f"    (generated {args.records:,} national records in "
              f"{time.perf_counter() - t:.1f} s, not timed)")
        cfg = tmp / "national.toml"
        cfg.write_text(NATIONAL.format(shared=shared, tmp=tmp))
        report("(b) England, 6,903 wards", run_case(cfg), 10, 4096)


if __name__ == "__main__":
    main()
