"""How well do the off-the-radar flags find planted areas under realistic noise? A grid over seeds.

For every cell of the grid (area-level CV in {0, 0.2, 0.35} x planted reach in {20-40%, 40-60%}
x {scattered, clustered}, plus the issue's CV 0.35 / 30-50% cells) and every seed, the demo
generator (``needmap.synthetic.simulate``) draws Oldham's families engaged per LSOA with 10
planted off-the-radar areas, and the radar is scored against the truth at LSOA and ward level:

- **ours**: ``needmap.radar.radar_flags`` exactly as the snapshot build calls it: fitted on
  *published* counts, classes decided on the true ones. Publication is emulated here (the
  disclosure layer is not this script's subject): counts from 1 to 5 become "c" with a stand-in
  of 3, other non-zero counts get cell-key-like noise of -2..+2 (probabilities .05, .15, .6,
  .15, .05) that never brings them down to 5 or below.
- **naive**: top need quintile and bottom engagement-rate quintile (``naive_flags``), on the
  true counts. "Beaten at equal or better precision" means more recall, and our own ranking cut
  at the naive rule's number of flags at least as precise ("ours@naive k").
- **oracle**: knows each area's true expected count (the need model before area variation and
  planting) and the true CV, and ranks the same candidate areas as ours (high need and the soft
  edge, enough expected) by the exact Poisson-gamma p-value. Its recall is reported at the same
  number of flags as ours ("oracle@k") and at the largest number of flags that keeps precision
  at 0.8 or more ("oracle@P.8"). No method that does not know the truth can do better.

Counts are aggregated directly from the generator's per-LSOA draws (the families the records
would carry; a family lives in one LSOA, so a ward's count is the sum of its LSOAs'), not by
writing records and running ``build_indicators``: the counts are the same bar the ~3% of rows a
refresh rejects for unusable postcodes, and it is 50x faster. A ward is truly under-reached when
its planted LSOAs take away at least 20% of its expected families (true reach <= 0.8).

Also printed: expected / true expected (the robust fit's bias, planted and other areas), the
estimated CV against the true one, and the share of flags that were planted for each kind of
evidence (what ``needmap.radar.reasons.CERTAINTY`` quotes).

    python bench/radar_accuracy.py            # 20 seeds, 17 cells, both levels: about 25 s
    python bench/radar_accuracy.py --quick    # 5 seeds: about 8 s
    python bench/radar_accuracy.py --set fdr=0.1 --set method=indirect
    python bench/radar_accuracy.py --clusters  # also try local-Moran support on clustered plants

Times are on 2 worker processes (``--jobs 2``, the default) of a 2-core machine at load about 1:
the full grid took 21-23 s, 16 s of it at LSOA level (61 s and 20 s before the EM was
accelerated, on a busier machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from needmap import stats  # noqa: E402
from needmap.config import RadarSettings, load_config  # noqa: E402
from needmap.indicators import ward_need  # noqa: E402
from needmap.radar import FLAG_OFF_RADAR, naive_flags  # noqa: E402
from needmap.radar.flags import radar_result  # noqa: E402
from needmap.refresh import load_geography  # noqa: E402
from needmap.synthetic import simulate  # noqa: E402

THRESHOLD = 5
N_PLANTED = 10
WARD_TRUTH = 0.8  # a ward is truly under-reached when its true reach is at most this


@dataclass(frozen=True)
class Cell:
    cv: float
    reach: tuple[float, float]
    layout: str
    planted: int = N_PLANTED

    @property
    def label(self) -> str:
        if not self.planted:
            return f"{self.cv:.2f} | nothing planted"
        return f"{self.cv:.2f} | {self.reach[0]:.0%}-{self.reach[1]:.0%} | {self.layout}"


def grid() -> list[Cell]:
    cells = [Cell(cv, reach, layout) for cv in (0.0, 0.2, 0.35)
             for reach in ((0.2, 0.4), (0.4, 0.6)) for layout in ("scattered", "clustered")]
    cells += [Cell(0.35, (0.3, 0.5), layout) for layout in ("scattered", "clustered")]
    # With nothing planted every flag is false: how many does an authority get?
    cells += [Cell(cv, (0.4, 0.6), "scattered", planted=0) for cv in (0.0, 0.2, 0.35)]
    return cells


def publish(counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Emulated published counts (stand-in 3 where "c") and the shown mask."""
    counts = np.asarray(counts, dtype=float)
    hidden = (counts >= 1) & (counts <= THRESHOLD)
    noise = rng.choice([-2, -1, 0, 1, 2], p=[0.05, 0.15, 0.6, 0.15, 0.05], size=len(counts))
    out = np.where(counts > 0, np.maximum(counts + noise, THRESHOLD + 1), 0.0)
    out = np.where(hidden, (1 + THRESHOLD) / 2, out)
    return out, ~hidden


def load_areas(config_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    config = load_config(config_path)
    geo = load_geography(config)
    lsoa = geo.lsoa.merge(geo.deprivation, on="lsoa_code").merge(
        geo.lookup[["lsoa_code", "ward_code"]], on="lsoa_code"
    )
    wards = geo.wards[["ward_code", "ward_name"]].merge(
        ward_need(pd.DataFrame(lsoa)).reset_index(), on="ward_code"
    )
    wards = wards[wards["children"] > 0].reset_index(drop=True)
    return lsoa, wards


def recall_at(score: np.ndarray, truth: np.ndarray, k: int) -> float:
    order = np.argsort(score, kind="stable")
    return float(truth[order[:k]].sum() / truth.sum()) if truth.sum() else np.nan


def recall_at_precision(score: np.ndarray, truth: np.ndarray, target: float = 0.8) -> float:
    if not truth.sum():
        return np.nan
    order = np.argsort(score, kind="stable")
    hits = np.cumsum(truth[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= target)
    return float(hits[ok[-1]] / truth.sum()) if ok.size else 0.0


def score_level(
    table: pd.DataFrame, level: str, true_counts: np.ndarray, truth: np.ndarray,
    true_expected: np.ndarray, true_tau2: np.ndarray | float, settings: RadarSettings,
    rng: np.random.Generator, clusters=None,
) -> tuple[dict, list]:
    fit, shown = publish(true_counts, rng)
    index = table.index
    result = radar_result(
        table, level=level, kind="engagement", settings=settings, threshold=THRESHOLD,
        authority_name="Oldham", fit_counts=pd.Series(fit, index=index),
        decide_counts=pd.Series(true_counts, index=index), shown=pd.Series(shown, index=index),
    )
    model, evidence, key = result.model, result.evidence, result.evidence_key
    flagged = (result.table.set_index("area_code").loc[table[f"{level}_code"], "flag"]
               == FLAG_OFF_RADAR).to_numpy()
    # The oracle ranks the high-need areas, where off-the-radar areas are by definition (and
    # where the generator plants them); ours may also flag the soft edge, on strong evidence.
    candidate = (evidence["need_group"] == "high").to_numpy() & evidence["enough"].to_numpy()

    naive_table = table.assign(families_engaged=true_counts)
    naive = naive_flags(naive_table, level=level).to_numpy()
    oracle_p = _nb_cdf(true_counts, true_expected, true_tau2)
    oracle_score = np.where(candidate, oracle_p, np.inf)
    n = int(flagged.sum())
    tp = int((flagged & truth).sum())
    # Our own ranking (published p-values) cut at the naive rule's number of flags.
    ours_p, _ = model.published_p_values(fit, shown)
    ours_score = np.where(candidate, ours_p, np.inf)
    k_naive = int(naive.sum())
    top = np.argsort(ours_score, kind="stable")[:k_naive]
    row = {
        "truth": int(truth.sum()),
        "flags": n, "tp": tp,
        "recall": tp / truth.sum() if truth.sum() else np.nan,
        "precision": tp / n if n else np.nan,
        "naive_flags": k_naive,
        "naive_recall": (naive & truth).sum() / truth.sum() if truth.sum() else np.nan,
        "naive_precision": (naive & truth).sum() / k_naive if k_naive else np.nan,
        "ours_at_naive_k": truth[top].sum() / truth.sum() if truth.sum() else np.nan,
        "ours_at_naive_k_precision": truth[top].mean() if k_naive else np.nan,
        "oracle_at_k": recall_at(oracle_score, truth, n),
        "oracle_at_p8": recall_at_precision(oracle_score, truth),
        **_oracle_bh(oracle_p, candidate, truth, settings.fdr),
        "e_ratio_other": float(np.mean(model.expected_[~truth] / true_expected[~truth])),
        "e_ratio_planted": float(np.mean(model.expected_[truth] / true_expected[truth]))
        if truth.any() else np.nan,
        "tau2": model.tau2_,
        "missed_candidate": int((truth & ~candidate).sum()),
    }
    if clusters is not None:
        row.update(clusters(table, model, evidence, true_counts, truth, flagged))
    events = list(zip(key, truth, strict=True))
    return row, events


def _oracle_bh(p: np.ndarray, candidate: np.ndarray, truth: np.ndarray, q: float) -> dict:
    """Benjamini-Hochberg at ``q`` on the oracle's p-values: the procedure without estimation."""
    flagged = candidate & (p <= stats.bh_cutoff(p[candidate], q))
    n = int(flagged.sum())
    tp = int((flagged & truth).sum())
    return {"obh_recall": tp / truth.sum() if truth.sum() else np.nan,
            "obh_precision": tp / n if n else np.nan}


def _nb_cdf(y, mean, tau2) -> np.ndarray:
    """Exact Poisson-gamma shortfall p-values with a per-area tau2 (wards: one per ward)."""
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), np.shape(mean))
    out = np.empty(len(mean))
    for t in np.unique(tau2):
        sel = tau2 == t
        out[sel] = stats.count_cdf(np.asarray(y)[sel], np.asarray(mean)[sel], tau2=float(t))
    return out


_STATE: dict = {}


def _init(config: str, settings: RadarSettings, levels: list[str], clusters: bool) -> None:
    """Load the areas once per worker process."""
    lsoa, wards = load_areas(Path(config))
    _STATE.update(lsoa=lsoa, wards=wards, settings=settings, levels=levels, clusters=None)
    if clusters:
        from libpysal import weights

        w = weights.Queen.from_dataframe(lsoa, use_index=False, silence_warnings=True)
        w.transform = "r"
        _STATE["clusters"] = cluster_support(w)


def run_seed(cell: Cell, seed: int) -> dict:
    """Score one seed of one cell at each level: ``{level: (row, events)}``."""
    lsoa, wards, settings = _STATE["lsoa"], _STATE["wards"], _STATE["settings"]
    sim = simulate(lsoa, seed=seed, years=3.0, area_cv=cell.cv, n_off_radar=cell.planted,
                   n_hidden_need=0, reach=cell.reach, layout=cell.layout)
    a = sim.areas
    y = a["families_engaged"].to_numpy()
    mu = a["engagement_expected"].to_numpy()
    planted = (a["engagement_reach"] < 1).to_numpy()
    rng = np.random.default_rng([seed, 7])
    out = {}
    if "lsoa" in _STATE["levels"]:
        clusters = _STATE["clusters"] if cell.layout == "clustered" else None
        out["lsoa"] = score_level(lsoa, "lsoa", y, planted, mu, cell.cv**2, settings, rng,
                                  clusters)
    if "ward" in _STATE["levels"]:
        ward_index = pd.Index(wards["ward_code"])
        by = lsoa["ward_code"].to_numpy()

        def per_ward(values: np.ndarray) -> np.ndarray:
            return pd.Series(values).groupby(by).sum().reindex(ward_index).to_numpy()

        wy, wmu = per_ward(y), per_ward(mu)
        wtruth = per_ward(mu * a["engagement_reach"].to_numpy()) / wmu <= WARD_TRUTH
        # A ward's count is a sum of Poisson-gamma counts: same mean, variance
        # sum(mu + cv^2 mu^2), i.e. tau2 = cv^2 sum(mu^2) / sum(mu)^2.
        out["ward"] = score_level(wards, "ward", wy, wtruth, wmu,
                                  cell.cv**2 * per_ward(mu**2) / wmu**2, settings, rng)
    return out


def run_grid(cells: list[Cell], seeds: range, jobs: int, init_args: tuple) -> dict:
    """``{cell: {level: (rows DataFrame, events)}}`` over all seeds, on ``jobs`` processes."""
    tasks = [(cell, seed) for cell in cells for seed in seeds]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, initializer=_init, initargs=init_args) as pool:
            done = list(pool.map(run_seed, *zip(*tasks, strict=True), chunksize=4))
    else:
        _init(*init_args)
        done = [run_seed(cell, seed) for cell, seed in tasks]
    levels = init_args[2]
    results = {}
    for cell in cells:
        mine = [d for (c, _), d in zip(tasks, done, strict=True) if c == cell]
        results[cell] = {
            level: (pd.DataFrame([d[level][0] for d in mine]),
                    [e for d in mine for e in d[level][1]])
            for level in levels
        }
    return results


def cluster_support(weights, permutations: int = 999):
    """Experiment: promote a high-need area on watch to a flag when local Moran says LL/LH."""
    import warnings

    import esda

    def score(table, model, evidence, y, truth, flagged):
        r = stats.freeman_tukey(y, model.expected_, tau2=model.tau2_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lisa = esda.Moran_Local(np.nan_to_num(r), weights, transformation="r",
                                    permutations=permutations, seed=0, keep_simulations=False)
        sig = lisa.p_sim <= esda.fdr(lisa.p_sim, 0.05)
        own_low = sig & np.isin(lisa.q, [2, 3])
        high = (evidence["need_group"] == "high").to_numpy()
        promoted = flagged | (high & evidence["low_watch"].to_numpy() & own_low)
        n = int(promoted.sum())
        tp = int((promoted & truth).sum())
        return {"cl_flags": n, "cl_recall": tp / truth.sum(),
                "cl_precision": tp / n if n else np.nan}

    return score


def summarise(cells: list[Cell], results: dict, level: str) -> pd.DataFrame:
    out = []
    for cell in cells:
        df, _ = results[cell][level]
        pooled_p = df["tp"].sum() / df["flags"].sum() if df["flags"].sum() else np.nan
        row = {
            "CV | reach | layout": cell.label,
            "recall": df["recall"].mean(), "precision": df["precision"].mean(),
            "pooled precision": pooled_p, "flags/run": df["flags"].mean(),
            "no-flag runs": int((df["flags"] == 0).sum()),
            "ours@naive k": df["ours_at_naive_k"].mean(),
            "ours@naive k precision": df["ours_at_naive_k_precision"].mean(),
            "naive recall": df["naive_recall"].mean(),
            "naive precision": df["naive_precision"].mean(),
            "naive flags": df["naive_flags"].mean(),
            "oracle@k": df["oracle_at_k"].mean(), "oracle@P.8": df["oracle_at_p8"].mean(),
            "oracle BH recall": df["obh_recall"].mean(),
            "oracle BH precision": df["obh_precision"].mean(),
            "E/Etrue other": df["e_ratio_other"].mean(),
            "E/Etrue planted": df["e_ratio_planted"].mean(),
            "CV est": np.sqrt(df["tau2"]).mean(),
            "truth/run": df["truth"].mean(),
        }
        if "cl_recall" in df:
            row.update({"+cluster recall": df["cl_recall"].mean(),
                        "+cluster precision": df["cl_precision"].mean(),
                        "+cluster flags": df["cl_flags"].mean()})
        out.append(row)
    return pd.DataFrame(out)


def evidence_table(cells: list[Cell], results: dict, level: str) -> pd.DataFrame:
    rows = []
    for cell in cells:
        for key, planted in results[cell][level][1]:
            rows.append({"cv": cell.cv, "evidence": key, "planted": planted})
    df = pd.DataFrame(rows)
    table = df.groupby(["evidence", "cv"])["planted"].agg(["size", "mean"]).unstack("cv")
    table.columns = [f"{stat} cv={cv:g}" for stat, cv in table.columns]
    noisy = df[df["cv"] > 0].groupby("evidence")["planted"].agg(["size", "mean"])
    table["areas (cv>0)"] = noisy["size"]
    table["planted share (cv>0)"] = noisy["mean"]
    return table


def check_targets(cells: list[Cell], lsoa: pd.DataFrame) -> list[str]:
    lines = []
    by = {c.label: r for c, r in zip(cells, lsoa.to_dict("records"), strict=True)}

    def cell_rows(cv, reach):
        return [by[c.label] for c in cells if c.cv == cv and c.reach == reach and c.planted]

    for cv, reach, rmin, pmin in ((0.0, (0.2, 0.4), 0.95, 0.90), (0.2, (0.4, 0.6), 0.80, 0.80),
                                  (0.35, (0.3, 0.5), 0.55, 0.80)):
        for r in cell_rows(cv, reach):
            ok = r["recall"] >= rmin and r["precision"] >= pmin
            lines.append(f"{'HOLDS' if ok else 'MISSES'}: {r['CV | reach | layout']}: recall "
                         f"{r['recall']:.2f} (>= {rmin}), precision {r['precision']:.2f} "
                         f"(>= {pmin})")
    for r in lsoa.to_dict("records"):
        if "nothing" in r["CV | reach | layout"]:
            lines.append(f"(no target) {r['CV | reach | layout']}: {r['flags/run']:.2f} false "
                         "flags per run")
            continue
        near = r["recall"] >= r["oracle@k"] - 0.05
        # Beaten at equal or better precision: more recall, and our own ranking cut at the naive
        # rule's number of flags is at least as precise as the naive rule.
        naive_p = 0.0 if np.isnan(r["naive precision"]) else r["naive precision"]
        ours_p = r["ours@naive k precision"]
        equal = np.isnan(ours_p) or ours_p >= naive_p - 1e-9
        beats = r["recall"] > r["naive recall"] and equal
        lines.append(f"{'HOLDS' if near and beats else 'MISSES'}: {r['CV | reach | layout']}: "
                     f"recall {r['recall']:.2f} vs oracle@k {r['oracle@k']:.2f} (within 0.05: "
                     f"{'yes' if near else 'no'}); naive recall {r['naive recall']:.2f} at "
                     f"precision {naive_p:.2f}, ours at its number of flags {ours_p:.2f} "
                     f"(beaten: {'yes' if beats else 'no'})")
    return lines


def markdown(df: pd.DataFrame, index: bool = False) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which needmap does not depend on)."""
    if index:
        df = df.reset_index()

    def fmt(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="5 seeds")
    ap.add_argument("--config", default=str(ROOT / "needmap.toml"))
    ap.add_argument("--levels", nargs="+", default=["lsoa", "ward"], choices=["lsoa", "ward"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a RadarSettings value, e.g. --set fdr=0.1")
    ap.add_argument("--clusters", action="store_true",
                    help="also score local-Moran support on the clustered cells (LSOA)")
    ap.add_argument("--cells", default="", help="only cells whose label contains this text")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args()
    seeds = range(1, (5 if args.quick else args.seeds) + 1)
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        parsed: object = {"true": True, "false": False}.get(value.lower(), value)
        if isinstance(parsed, str):
            try:
                parsed = int(value) if value.isdigit() else float(value)
            except ValueError:
                parsed = value
        overrides[key] = parsed
    settings = replace(RadarSettings(), **overrides)
    cells = [c for c in grid() if args.cells in c.label]
    n_lsoa = len(load_areas(Path(args.config))[0])
    t0 = time.perf_counter()
    results = run_grid(cells, seeds, args.jobs, (args.config, settings, args.levels,
                                                 args.clusters))
    took = time.perf_counter() - t0
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(f"{len(seeds)} seeds x {len(cells)} cells, {N_PLANTED} planted of {n_lsoa} LSOAs, "
          f"settings {overrides or 'default'}: {took:.0f} s on {args.jobs} process(es)")
    for level in args.levels:
        table = summarise(cells, results, level)
        print(f"\n## {level.upper()} (mean over seeds; precision over runs with a flag)\n")
        print(markdown(table))
        print(f"\n### Evidence levels at {level.upper()}: share of areas that were planted\n")
        print(markdown(evidence_table(cells, results, level), index=True))
        if level == "lsoa":
            print("\n### Targets (LSOA)\n")
            print("\n".join(check_targets(cells, table)))


if __name__ == "__main__":
    main()
