"""Compare needmap's ZoneBuilder with library regionalisers on the same inputs, in one process.

Run from the repository root::

    .venv/bin/python bench/zones.py [--cap SECONDS] [--sizes 500:10,2000:20] [--seed 0]

Inputs
------
* Oldham, 142 LSOAs (2021, BGC boundaries), k = 6. Workload = children 0-15 (ONS mid-2022, the
  IoD2025 IDACI denominator) x (1 + IDACI score), the official IoD2025 score.
* Synthetic coverages (default 500 units with k = 10 and 2,000 units with k = 20): a jittered
  grid of points, ``shapely.voronoi_polygons`` clipped to a 100 km box, gamma-distributed
  workloads.

Methods: ours (``needmap.zones.ZoneBuilder``, timed after one warm-up call), scikit-learn
``AgglomerativeClustering(linkage="ward")`` on centroids with queen connectivity, gerrychain
``recursive_tree_part`` (epsilon = 0.05), spopt ``Skater`` (attribute: workload) and spopt
``MaxPHeuristic`` (threshold = 90% of the mean zone target, so it makes about k regions;
5 construction and 2 annealing iterations instead of the default 99 and 10). Skater and
MaxPHeuristic run in a forked child and are skipped, with a note, past ``--cap`` seconds.

Columns: seconds; k (zones made); maxdev = largest |load - target| / target with target =
total / k; CV of zone workloads; contig = every zone queen-connected; mean and min
Polsby-Popper of the dissolved zones.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from needmap.zones import ZoneBuilder, is_contiguous, polsby_popper  # noqa: E402


def oldham() -> gpd.GeoDataFrame:
    """Oldham LSOAs with workload = children x (1 + IDACI score), EPSG:27700."""
    lsoa = gpd.read_parquet(ROOT / "boundaries" / "lsoa21_bgc_oldham.parquet").to_crs(27700)
    iod = pd.read_csv(ROOT / "data" / "iod2025_lsoa21_oldham.csv")
    df = lsoa.merge(iod[["lsoa21cd", "pop_children_0_15_mid2022", "idaci_score"]],
                    on="lsoa21cd", validate="1:1")
    children = df["pop_children_0_15_mid2022"].astype(float)
    return gpd.GeoDataFrame(
        {"lsoa_code": df["lsoa21cd"], "workload": children * (1.0 + df["idaci_score"])},
        geometry=df.geometry, crs=lsoa.crs,
    )


def synthetic(n: int, seed: int) -> gpd.GeoDataFrame:
    """A jittered-grid Voronoi coverage of about ``n`` units in a 100 km box."""
    rng = np.random.default_rng(seed)
    side = 100_000.0
    nx = int(round(np.sqrt(n * 1.25)))
    ny = int(np.ceil(n / nx))
    gx, gy = np.meshgrid((np.arange(nx) + 0.5) * side / nx, (np.arange(ny) + 0.5) * side / ny)
    pts = np.column_stack([gx.ravel(), gy.ravel()])[:n]
    pts = pts + rng.uniform(-0.4, 0.4, pts.shape) * [side / nx, side / ny]
    box = shapely.box(0, 0, side, side)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=box)
    polys = shapely.intersection(np.asarray(cells.geoms), box)
    return gpd.GeoDataFrame(
        {"lsoa_code": [f"S{i:05d}" for i in range(len(polys))],
         "workload": rng.gamma(2.0, 50.0, len(polys))},
        geometry=polys, crs=27700,
    )


def score(gdf: gpd.GeoDataFrame, labels: np.ndarray, seconds: float) -> dict:
    labels = np.asarray(labels)
    zones = np.unique(labels)
    loads = np.array([gdf["workload"].to_numpy()[labels == z].sum() for z in zones])
    target = loads.sum() / len(zones)
    dissolved = [shapely.union_all(gdf.geometry.to_numpy()[labels == z]) for z in zones]
    pp = polsby_popper(np.asarray(dissolved, dtype=object))
    return {
        "seconds": seconds,
        "k": len(zones),
        "maxdev": float(np.abs(loads - target).max() / target),
        "cv": float(loads.std() / loads.mean()),
        "largest/smallest": float(loads.max() / max(loads.min(), 1e-9)),
        "contig": is_contiguous(gdf, labels),
        "pp_mean": float(np.mean(pp)),
        "pp_min": float(np.min(pp)),
    }


def run_ours(gdf, k, seed):
    t = time.perf_counter()
    zb = ZoneBuilder(k, random_state=seed).fit(gdf)
    return zb.labels_.to_numpy(), time.perf_counter() - t


def run_skater(gdf, k, w):
    from spopt.region import Skater

    t = time.perf_counter()
    model = Skater(gdf, w, ["workload"], n_clusters=k)
    model.solve()
    return np.asarray(model.labels_), time.perf_counter() - t


def run_ward(gdf, k, w):
    from sklearn.cluster import AgglomerativeClustering

    t = time.perf_counter()
    xy = shapely.get_coordinates(shapely.centroid(gdf.geometry.to_numpy()))
    model = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=w.sparse)
    labels = model.fit_predict(xy)
    return labels, time.perf_counter() - t


def run_gerrychain(gdf, k, w, seed):
    import networkx as nx
    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part

    t = time.perf_counter()
    g = nx.Graph()
    loads = gdf["workload"].to_numpy()
    for i in range(len(gdf)):
        g.add_node(i, workload=float(loads[i]))
    for i, nbrs in w.neighbors.items():
        g.add_edges_from((i, j) for j in nbrs)
    graph = Graph.from_networkx(g)
    assign = recursive_tree_part(graph, range(k), loads.sum() / k, "workload", 0.05, rng=seed)
    labels = np.array([assign[i] for i in range(len(gdf))])
    return labels, time.perf_counter() - t


def run_maxp(gdf, k, w):
    from spopt.region import MaxPHeuristic

    t = time.perf_counter()
    threshold = 0.9 * gdf["workload"].sum() / k  # about k regions
    # Fewer iterations than spopt's defaults (99, 10), which take minutes even on 141 units.
    model = MaxPHeuristic(gdf, w, ["workload"], "workload", threshold, top_n=2,
                          max_iterations_construction=5, max_iterations_sa=2)
    model.solve()
    return np.asarray(model.labels_), time.perf_counter() - t


def _child(fn, queue):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queue.put(fn())


def capped(fn, cap: float):
    """Run ``fn`` in a forked child (same inputs, copied) and give up after ``cap`` seconds."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    try:
        result = queue.get(timeout=cap)
    except Exception:
        result = (None, None)
    proc.join(timeout=1)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return result


def bench(name: str, gdf: gpd.GeoDataFrame, k: int, seed: int, cap: float) -> pd.DataFrame:
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.Queen.from_dataframe(gdf, use_index=False)
    rows = {}
    ours_labels, _ = run_ours(gdf, k, seed + 1)  # warm-up: first-call imports are not timed
    for label, fn, slow in [
        ("needmap ZoneBuilder", lambda: run_ours(gdf, k, seed), False),
        ("sklearn Ward+connectivity", lambda: run_ward(gdf, k, w), False),
        ("gerrychain recursive_tree_part", lambda: run_gerrychain(gdf, k, w, seed), False),
        ("spopt Skater", lambda: run_skater(gdf, k, w), True),
        ("spopt MaxPHeuristic", lambda: run_maxp(gdf, k, w), True),
    ]:
        if slow:
            labels, seconds = capped(fn, cap)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels, seconds = fn()
        if labels is None:
            print(f"[{name}] {label} skipped: not finished within {cap:.0f} s (--cap).")
            continue
        rows[label] = score(gdf, labels, seconds)
    table = pd.DataFrame(rows).T
    table.index.name = f"{name} ({len(gdf)} units, k={k})"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500:10,2000:20",
                        help="synthetic units:zones, comma-separated (default 500:10,2000:20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cap", type=float, default=60.0,
                        help="seconds before Skater or MaxPHeuristic is stopped (default 60)")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    fmt = {"seconds": "{:.3f}", "maxdev": "{:.1%}", "cv": "{:.3f}", "largest/smallest": "{:.2f}",
           "pp_mean": "{:.3f}", "pp_min": "{:.3f}"}
    cases = [("Oldham LSOAs", oldham(), 6)]
    for size in args.sizes.split(","):
        n, k = (int(v) for v in size.split(":"))
        cases.append(("synthetic Voronoi", synthetic(n, args.seed), k))
    for name, gdf, k in cases:
        table = bench(name, gdf, k, args.seed, args.cap)
        for col, f in fmt.items():
            table[col] = [f.format(v) for v in table[col]]
        print(table.to_string())
        print()


if __name__ == "__main__":
    main()
