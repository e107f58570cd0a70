"""The SYNTHETIC demo generator: its documented model, its planted truth, its determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from needmap import synthetic
from needmap.config import load_config
from needmap.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    """Oldham's LSOAs with need and geometry, its postcodes and the postcodes of each LSOA."""
    return synthetic.demo_areas(load_config(ROOT / "needmap.toml"))


def test_simulation_is_seeded_and_follows_the_documented_model(demo):
    areas, _, _ = demo
    a = synthetic.simulate(areas, seed=5)
    b = synthetic.simulate(areas, seed=5)
    pd.testing.assert_frame_equal(a.areas, b.areas)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.areas.equals(synthetic.simulate(areas, seed=6).areas)
    # Step 1: the need model, written out.
    d, c = areas["idaci_score"].to_numpy(), areas["children"].to_numpy()
    dbar = np.average(d, weights=c)
    families = 45 / 1000 * (d / dbar) ** 0.7 * c * 3
    referrals = 60 / 1000 * (d / dbar) ** 0.9 * c * 3
    np.testing.assert_allclose(a.areas["engagement_expected"], families)
    np.testing.assert_allclose(a.areas["referrals_expected"], referrals)


def test_area_variation_has_the_requested_spread(demo):
    areas, _, _ = demo
    rng = np.random.default_rng(0)
    g = synthetic.area_variation(200_000, cv=0.35, rng=rng)
    assert g.mean() == pytest.approx(1.0, abs=0.005)
    assert g.std() == pytest.approx(0.35, abs=0.005)
    flat = synthetic.simulate(areas, seed=1, area_cv=0.0)
    assert (flat.areas["engagement_factor"] == 1).all()
    with pytest.raises(InputError, match="area_cv must be >= 0"):
        synthetic.area_variation(3, cv=-0.1, rng=rng)


def test_counts_are_poisson_around_expected_times_factor_times_reach(demo):
    areas, _, _ = demo
    ratios = []
    for seed in range(30):
        a = synthetic.simulate(areas, seed=seed, n_off_radar=10, reach=(0.2, 0.4)).areas
        mean = a["engagement_expected"] * a["engagement_factor"] * a["engagement_reach"]
        ratios.append(a["families_engaged"].sum() / mean.sum())
    # The total of 30 x ~6,000 Poisson families is within a few tenths of a percent of its mean.
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.005)


def test_planted_truth_is_written_out(demo):
    areas, _, _ = demo
    sim = synthetic.simulate(areas, seed=3, area_cv=0.2, n_off_radar=10, n_hidden_need=3,
                             reach=(0.4, 0.6))  # fmt: skip
    truth = sim.truth
    assert truth["kind"].value_counts().to_dict() == {"off_radar": 10, "hidden_need": 3}
    assert truth["reach"].between(0.4, 0.6).all() and truth["lsoa_code"].is_unique
    assert (truth["synthetic"] == "yes").all()
    table = sim.areas.set_index("lsoa_code")
    off = truth[truth["kind"] == "off_radar"].set_index("lsoa_code")
    np.testing.assert_allclose(off["expected"], table.loc[off.index, "engagement_expected"],
                               atol=0.005)  # fmt: skip
    np.testing.assert_allclose(off["reach"], table.loc[off.index, "engagement_reach"])
    np.testing.assert_allclose(off["area_factor"], table.loc[off.index, "engagement_factor"],
                               atol=5e-5)  # fmt: skip
    # Only planted areas have a reach below 1, each in its own measure.
    assert (table["engagement_reach"] < 1).sum() == 10
    assert (table["referrals_reach"] < 1).sum() == 3
    # Planted areas come from the radar's high-need scale: the top 40% by national IDACI.
    cut = np.quantile(areas["idaci_pctile"], 0.6)
    assert (truth["idaci_pctile"] > cut - 0.01).all()


def test_same_seed_plants_the_same_areas_whatever_the_spread(demo):
    areas, _, _ = demo
    low = synthetic.simulate(areas, seed=9, area_cv=0.0).truth
    high = synthetic.simulate(areas, seed=9, area_cv=0.35).truth
    assert low["lsoa_code"].tolist() == high["lsoa_code"].tolist()


def test_clustered_plants_are_neighbours(demo):
    areas, _, _ = demo
    centre = areas.geometry.centroid
    xy = np.column_stack([centre.x, centre.y])
    spans = {}
    for layout in ("scattered", "clustered"):
        spread = []
        for seed in range(10):
            truth = synthetic.simulate(areas, seed=seed, n_off_radar=10, n_hidden_need=0,
                                       layout=layout).truth  # fmt: skip
            pts = xy[areas["lsoa_code"].isin(truth["lsoa_code"]).to_numpy()]
            spread.append(np.linalg.norm(pts - pts.mean(axis=0), axis=1).mean())
        spans[layout] = np.mean(spread)
    assert spans["clustered"] < 0.5 * spans["scattered"]


def test_records_carry_exactly_the_simulated_families(demo):
    areas, _, homes = demo
    sim = synthetic.simulate(areas, seed=11)
    start, end = synthetic.default_window()
    rng = np.random.default_rng(0)
    eng = synthetic.engagement_records(sim, homes, start=start, end=end, rng=rng)
    lsoa_of = {pc: code for code, pcs in homes.items() for pc in pcs}
    families = eng.assign(lsoa=eng["postcode"].map(lsoa_of)).groupby("lsoa")["family_id"].nunique()
    counts = sim.areas.set_index("lsoa_code")["families_engaged"]
    pd.testing.assert_series_equal(
        families.reindex(counts.index, fill_value=0), counts, check_names=False
    )
    assert eng["engagement_start_date"].between(start.isoformat(), end.isoformat()).all()


def test_generator_refuses_impossible_plants(demo):
    areas, _, _ = demo
    with pytest.raises(InputError, match=r"ask for fewer \(needmap demo-data --off-radar N"):
        synthetic.simulate(areas, seed=1, n_off_radar=60)
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(InputError, match="n_hidden_need must be a whole number >= 0"):
            synthetic.simulate(areas, seed=1, n_hidden_need=bad)


def test_planted_counts_keep_planted_areas_the_exception(demo):
    areas, _, _ = demo
    assert synthetic.planted_counts(areas) == synthetic.PLANTED  # Oldham: a pool of 57
    pool = areas.sort_values("idaci_pctile", ascending=False)
    for n, expected in ((55, (8, 3)), (25, (4, 1)), (12, (1, 1)), (4, (1, 0)), (2, (0, 0))):
        few = pool.head(n).reset_index(drop=True)  # a pool of about 40% of n
        off, hidden = synthetic.planted_counts(few)
        assert (off, hidden) == expected, (n, off, hidden)
        assert 2 * (off + hidden) <= len(synthetic._pool(few, synthetic.POOL_SHARE))
    with pytest.raises(InputError, match="reach must be two fractions"):
        synthetic.simulate(areas, seed=1, reach=(0.6, 0.4))
    with pytest.raises(InputError, match="layout must be"):
        synthetic.simulate(areas, seed=1, layout="ring")
