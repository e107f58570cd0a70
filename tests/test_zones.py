"""Invariants of the zoning estimator: count, contiguity, balance, determinism, bases, locks."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from needmap.errors import InputError
from needmap.zones import (
    ZoneBuilder,
    ZoneWarning,
    build_zones,
    is_contiguous,
    polsby_popper,
    zone_contiguity,
)

ROOT = Path(__file__).resolve().parents[1]
X0, Y0 = 390_000.0, 400_000.0


def grid(nx: int = 10, ny: int = 10, size: float = 1000.0, seed: int | None = None):
    """nx x ny squares of ``size`` metres; workload 100 each or random in 50..150 with a seed."""
    cells, codes = [], []
    for j in range(ny):
        for i in range(nx):
            x, y = X0 + i * size, Y0 + j * size
            cells.append(shapely.box(x, y, x + size, y + size))
            codes.append(f"G{j:02d}{i:02d}")
    load = np.full(len(cells), 100.0)
    if seed is not None:
        load = np.random.default_rng(seed).uniform(50, 150, len(cells))
    return gpd.GeoDataFrame({"lsoa_code": codes, "workload": load}, geometry=cells,
                            crs="EPSG:27700")


@pytest.fixture(scope="module")
def oldham() -> gpd.GeoDataFrame:
    lsoa = gpd.read_parquet(ROOT / "boundaries" / "lsoa21_bgc_oldham.parquet").to_crs(27700)
    iod = pd.read_csv(ROOT / "data" / "iod2025_lsoa21_oldham.csv")
    look = pd.read_csv(ROOT / "data" / "lookup_lsoa21_to_ward2024_oldham.csv")
    df = lsoa.merge(iod[["lsoa21cd", "pop_children_0_15_mid2022", "idaci_score"]],
                    on="lsoa21cd").merge(look[["lsoa21cd", "wd24cd"]], on="lsoa21cd")
    children = df["pop_children_0_15_mid2022"].astype(float)
    return gpd.GeoDataFrame({
        "lsoa_code": df["lsoa21cd"],
        "ward_code": df["wd24cd"],
        "workload": children * (1 + df["idaci_score"]),
    }, geometry=df.geometry, crs=lsoa.crs)


def check_plan(zb: ZoneBuilder, areas: gpd.GeoDataFrame, k: int, tol: float = 0.05) -> None:
    lab = zb.labels_
    assert list(lab.index) == list(areas["lsoa_code"])
    assert sorted(lab.unique()) == list(range(1, k + 1))
    assert is_contiguous(areas, lab.to_numpy())
    assert zb.contiguous_.all()
    loads = areas.groupby(lab.to_numpy())["workload"].sum()
    np.testing.assert_allclose(loads.to_numpy(), zb.zone_loads_.to_numpy())
    assert zb.targets_.sum() == pytest.approx(areas["workload"].sum())
    assert (zb.zone_loads_ / zb.targets_ - 1).abs().max() <= tol
    assert (zb.deviation_.abs() <= tol).all()


def test_square_polsby_popper_is_pi_over_4_and_circle_near_1():
    pp = polsby_popper([shapely.box(0, 0, 10, 10), shapely.Point(0, 0).buffer(100, 256),
                        shapely.box(0, 0, 100, 1)])
    assert pp[0] == pytest.approx(math.pi / 4)
    assert pp[1] == pytest.approx(1.0, abs=1e-3)
    # 100 x 1 strip: 4 pi 100 / 202**2
    assert pp[2] == pytest.approx(4 * math.pi * 100 / 202**2)


def test_zone_contiguity_flags_a_split_zone():
    g = grid(3, 1)
    assert zone_contiguity(g, [1, 2, 1]).to_dict() == {1: False, 2: True}
    assert is_contiguous(g, [1, 1, 2])
    assert not is_contiguous(g, [1, 2, 1])


def test_grid_plan_is_contiguous_balanced_and_has_k_zones():
    g = grid(seed=1)
    zb = ZoneBuilder(5, random_state=0).fit(g)
    check_plan(zb, g, 5, tol=0.03)  # the search aims for 0.6 x 5% on a fine grid
    assert zb.warnings_ == []
    assert (zb.polsby_popper_ > 0.3).all()


def test_same_seed_same_plan_and_input_untouched():
    g = grid(seed=2)
    before = g.copy()
    a = ZoneBuilder(4, random_state=7).fit(g).labels_
    b = ZoneBuilder(4, random_state=7).fit(g).labels_
    pd.testing.assert_series_equal(a, b)
    pd.testing.assert_frame_equal(g, before)


def test_fte_sets_proportional_targets():
    g = grid(seed=3)
    fte = [1.0, 0.5, 0.5, 1.0]
    zb = ZoneBuilder(fte=fte, random_state=0).fit(g)
    total = g["workload"].sum()
    np.testing.assert_allclose(zb.targets_.to_numpy(), total * np.array([1, 0.5, 0.5, 1]) / 3)
    check_plan(zb, g, 4)
    # a 0.5 FTE zone carries about half the workload of a 1.0 FTE zone
    assert zb.zone_loads_[2] / zb.zone_loads_[1] == pytest.approx(0.5, abs=0.05)


def test_bases_are_inside_their_zones():
    g = grid(seed=4)
    # corner points (east, north) and an area code
    bases = [(X0 + 500, Y0 + 500), shapely.Point(X0 + 9500, Y0 + 9500), "G0009", None]
    zb = ZoneBuilder(4, bases=bases, random_state=0).fit(g)
    check_plan(zb, g, 4)
    assert zb.labels_["G0000"] == 1
    assert zb.labels_["G0909"] == 2
    assert zb.labels_["G0009"] == 3


def test_locks_are_kept_and_the_rest_rebalanced():
    g = grid(seed=5)
    locks = {f"G{j:02d}00": 2 for j in range(4)}  # a strip of column 0 held in zone 2
    zb = ZoneBuilder(4, locks=locks, random_state=0).fit(g)
    check_plan(zb, g, 4)
    assert all(zb.labels_[c] == 2 for c in locks)


def test_relocking_a_previous_plan_keeps_it():
    g = grid(seed=5)
    first = ZoneBuilder(4, random_state=0).fit(g).labels_
    zb = ZoneBuilder(4, locks=first, random_state=3).fit(g)
    pd.testing.assert_series_equal(zb.labels_, first)


def test_locks_in_two_pieces_are_joined_into_one_zone():
    g = grid(seed=6)
    locks = {"G0000": 3, "G0005": 3}  # five squares apart on the bottom row
    zb = ZoneBuilder(3, locks=locks, random_state=1).fit(g)
    check_plan(zb, g, 3)
    assert zb.labels_["G0000"] == zb.labels_["G0005"] == 3


def test_base_and_lock_in_conflict_is_an_input_error():
    g = grid()
    with pytest.raises(InputError, match="G0000.*zone 1.*zone 2"):
        ZoneBuilder(2, bases=["G0000", None], locks={"G0000": 2}).fit(g)


def test_island_is_joined_with_a_warning():
    g = grid(7, 5)  # 35 squares + 1 island = 36 = 3 zones of 12
    far = gpd.GeoDataFrame({"lsoa_code": ["ISLE"], "workload": [100.0]},
                           geometry=[shapely.box(X0 + 9000, Y0, X0 + 10000, Y0 + 1000)],
                           crs="EPSG:27700")
    g = pd.concat([g, far], ignore_index=True)
    with pytest.warns(ZoneWarning, match="island.*ISLE"):
        zb = ZoneBuilder(3, random_state=0).fit(g)
    assert any("ISLE" in w for w in zb.warnings_)
    assert set(zb.labels_.unique()) == {1, 2, 3}
    assert zb.contiguous_.all()  # on the graph with the island joined
    assert (zb.zone_loads_ == 1200).all()


def test_hairline_gaps_are_not_islands():
    g = grid(4, 4)
    g["geometry"] = g.geometry.buffer(-0.2)  # 0.4 m gaps between every pair of squares
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZoneWarning)
        zb = ZoneBuilder(2, random_state=0).fit(g)
    assert zb.warnings_ == []
    assert is_contiguous(g, zb.labels_.to_numpy())


def test_impossible_balance_warns_and_still_returns_a_plan():
    g = grid(3, 1)  # three equal squares cannot make two zones within 5%
    with pytest.warns(ZoneWarning, match="outside the"):
        zb = ZoneBuilder(2, random_state=0).fit(g)
    assert zb.deviation_.abs().max() == pytest.approx(1 / 3)  # 200 vs 150 target


def test_nan_workload_names_the_areas():
    g = grid(3, 3)
    g.loc[[2, 5], "workload"] = np.nan
    with pytest.raises(InputError, match=r"G0002.*G0102.*0 is allowed"):
        ZoneBuilder(2).fit(g)


def test_zero_workload_total_and_missing_column_are_errors():
    g = grid(3, 3)
    with pytest.raises(InputError, match="column\\(s\\) \\['need'\\] not found"):
        ZoneBuilder(2, workload="need").fit(g)
    g["workload"] = 0.0
    with pytest.raises(InputError, match="sums to 0"):
        ZoneBuilder(2).fit(g)


def test_zero_workload_areas_are_allowed():
    g = grid(seed=8)
    g.loc[g.index[:10], "workload"] = 0.0
    zb = ZoneBuilder(3, random_state=0).fit(g)
    check_plan(zb, g, 3)


def test_parameter_errors_say_what_to_give():
    g = grid(3, 3)
    with pytest.raises(InputError, match="number of zones is unknown"):
        ZoneBuilder().fit(g)
    with pytest.raises(InputError, match="fte has 2 values but n_zones is 3"):
        ZoneBuilder(3, fte=[1, 1]).fit(g)
    with pytest.raises(InputError, match="only 9 units"):
        ZoneBuilder(10).fit(g)
    with pytest.raises(InputError, match="zones are numbered 1..2"):
        ZoneBuilder(2, locks={"G0000": 0}).fit(g)
    with pytest.raises(InputError, match="Geocode postcodes"):
        ZoneBuilder(2, bases=["OL1 1AA", None]).fit(g)


def test_geographic_crs_is_converted_with_a_warning():
    g = grid(4, 4, seed=9).to_crs(4326)
    with pytest.warns(ZoneWarning, match="to_crs"):
        zb = ZoneBuilder(2, random_state=0).fit(g)
    assert sorted(zb.labels_.unique()) == [1, 2]


def test_build_zones_returns_area_zone_workload():
    g = grid(seed=10)
    out = build_zones(g, n_zones=3, random_state=0)
    assert list(out.columns) == ["area_code", "zone", "workload"]
    assert len(out) == 100
    assert out["workload"].sum() == pytest.approx(g["workload"].sum())


def voronoi(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    box = shapely.box(0, 0, 50_000, 50_000)
    pts = shapely.MultiPoint(rng.uniform(0, 50_000, (n, 2)))
    cells = shapely.intersection(np.asarray(shapely.voronoi_polygons(pts, extend_to=box).geoms),
                                 box)
    return gpd.GeoDataFrame({"lsoa_code": [f"V{i:04d}" for i in range(len(cells))],
                             "workload": rng.gamma(2.0, 50.0, len(cells))},
                            geometry=cells, crs="EPSG:27700")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_voronoi_with_unequal_fte(seed):
    g = voronoi(300, seed)
    fte = np.random.default_rng(seed).choice([0.5, 0.8, 1.0], 8)
    zb = ZoneBuilder(fte=fte, random_state=seed).fit(g)
    check_plan(zb, g, 8)
    np.testing.assert_allclose(zb.targets_ / zb.targets_.sum(), fte / fte.sum())


def test_oldham_six_zones(oldham):
    zb = ZoneBuilder(6, random_state=0).fit(oldham)
    check_plan(zb, oldham, 6)
    assert zb.warnings_ == []  # the 142-LSOA queen graph has no islands


def test_oldham_wards_whole(oldham):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZoneWarning)  # 20 wards may not balance to 5%
        zb = ZoneBuilder(4, keep_wards_whole=True, random_state=0).fit(oldham)
    per_ward = pd.DataFrame({"ward": oldham["ward_code"].to_numpy(), "zone": zb.labels_.to_numpy()})
    assert (per_ward.groupby("ward")["zone"].nunique() == 1).all()
    assert sorted(zb.labels_.unique()) == [1, 2, 3, 4]
    assert zb.contiguous_.all()


def test_wards_whole_accepts_a_ward_code_as_base(oldham):
    ward = oldham["ward_code"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZoneWarning)
        zb = ZoneBuilder(3, keep_wards_whole=True, bases=[None, ward, None],
                         random_state=0).fit(oldham)
    assert (zb.labels_[oldham["ward_code"].to_numpy() == ward] == 2).all()
