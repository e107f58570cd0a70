"""Tests of needmap.radar on Oldham's real LSOAs, children and IDACI with synthetic counts."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from needmap import radar, stats
from needmap.errors import ConfigError, InputError, NeedmapError
from needmap.radar import RadarModel, RadarSettings

ROOT = Path(__file__).resolve().parents[1]
NO_CLUSTERS = RadarSettings(use_clusters=False)


@pytest.fixture(scope="module")
def oldham() -> gpd.GeoDataFrame:
    """Oldham's 142 LSOAs (2021): real geometry, children (mid-2022) and IDACI; no counts yet."""
    iod = pd.read_csv(ROOT / "data" / "iod2025_lsoa21_oldham.csv")
    shapes = gpd.read_parquet(ROOT / "boundaries" / "lsoa21_bgc_oldham.parquet").to_crs(27700)
    areas = shapes[["lsoa21cd", "geometry"]].merge(iod, on="lsoa21cd")
    areas = areas.rename(
        columns={
            "lsoa21cd": "lsoa_code",
            "lsoa21nm": "lsoa_name",
            "pop_children_0_15_mid2022": "children",
        }
    )
    n = 33755  # LSOAs in England (2021)
    areas["idaci_pctile"] = 100 * (n - areas["idaci_rank"] + 1) / n
    areas["imd_pctile"] = 100 * (n - areas["imd_rank"] + 1) / n
    cols = ["lsoa_code", "lsoa_name", "children", "idaci_score", "idaci_pctile", "imd_pctile"]
    return areas[[*cols, "geometry"]]


def simulate(
    areas: gpd.GeoDataFrame,
    seed: int,
    *,
    n_planted: int = 8,
    multiplier: float = 0.35,
    per_child: float = 0.12,
) -> tuple[gpd.GeoDataFrame, set[str]]:
    """Poisson counts whose rate rises with IDACI, with planted high-need low-engagement areas.

    ``per_child`` is families a child's area sees over the period at the authority's mean need
    (0.12 is about three years at 45 per 1,000 children a year, the demo generator's level).
    """
    rng = np.random.default_rng(seed)
    out = areas.copy()
    need = out["idaci_score"].to_numpy()
    rate = per_child * (need / np.average(need, weights=out["children"])) ** 0.7
    top = np.flatnonzero(need >= np.quantile(need, 0.8))
    planted = rng.choice(top, n_planted, replace=False)
    rate[planted] *= multiplier
    out["families_engaged"] = rng.poisson(rate * out["children"].to_numpy())
    out["referrals"] = rng.poisson(1.5 * rate * out["children"].to_numpy())
    return out, set(out["lsoa_code"].iloc[planted])


# -- expected counts ----------------------------------------------------------------------------
def test_indirect_standardisation_by_hand(oldham):
    areas, _ = simulate(oldham, 0)
    settings = RadarSettings(use_clusters=False, robust=False)
    model = RadarModel(settings=settings).fit(areas)
    band = pd.qcut(areas["idaci_score"], 5, labels=False) + 1
    by_band = areas.groupby(band.to_numpy())[["families_engaged", "children"]].sum()
    np.testing.assert_allclose(
        model.band_rates_.to_numpy(), by_band["families_engaged"] / by_band["children"]
    )
    expected = model.expected(areas)
    # Indirect standardisation reproduces every band's total, hence the authority's.
    np.testing.assert_allclose(
        pd.Series(expected).groupby(band.to_numpy()).sum(), by_band["families_engaged"]
    )
    i = 17
    assert expected[i] == pytest.approx(model.band_rates_[band.iloc[i]] * areas["children"].iloc[i])


def test_robust_refit_raises_expected_counts_of_planted_band(oldham):
    areas, truth = simulate(oldham, 1, multiplier=0.1)
    plain = RadarModel(settings=RadarSettings(use_clusters=False, robust=False)).fit(areas)
    robust = RadarModel(settings=NO_CLUSTERS).fit(areas)
    assert robust.band_rates_[5] > plain.band_rates_[5]
    # The reference leaves out exactly the areas beyond the 99.8% limits of the first fit.
    z = stats.sqrt_ratio_z(areas["families_engaged"], plain.expected(areas))
    np.testing.assert_array_equal(~robust.reference_mask_, np.abs(z) > 3.090232306167813)
    excluded = set(areas.loc[~robust.reference_mask_, "lsoa_code"])
    assert len(excluded & truth) >= len(truth) // 2


def test_poisson_method_matches_totals_and_follows_need(oldham):
    areas, _ = simulate(oldham, 2, n_planted=1, multiplier=1.0)
    model = RadarModel(method="poisson", settings=RadarSettings(use_clusters=False, robust=False))
    expected = model.fit(areas).expected(areas)
    # A Poisson GLM with an intercept fits the observed total exactly.
    assert expected.sum() == pytest.approx(areas["families_engaged"].sum(), rel=1e-3)
    rate = expected / areas["children"].to_numpy()
    order = np.argsort(areas["idaci_score"].to_numpy())
    assert rate[order[-1]] > 2 * rate[order[0]]


# -- funnel and over-dispersion -----------------------------------------------------------------
def test_limits_are_exact_poisson_without_overdispersion(oldham):
    areas, _ = simulate(oldham, 3, n_planted=1, multiplier=1.0)
    model = RadarModel(settings=NO_CLUSTERS).fit(areas)
    assert not model.overdispersion_.overdispersed and model.funnel_ == "exact Poisson"
    out = model.flags(areas)
    low, high = stats.poisson_funnel_limits(out["expected"], level=0.998)
    np.testing.assert_allclose(out["lower_limit"], low)
    np.testing.assert_allclose(out["upper_limit"], high)
    low95, _ = stats.poisson_funnel_limits(out["expected"], level=0.95)
    np.testing.assert_allclose(out["lower_limit_95"], low95)
    np.testing.assert_allclose(out["z"], 2 * (np.sqrt(out["observed"]) - np.sqrt(out["expected"])))
    byar_low, _ = stats.byar_interval(out["observed"], out["expected"])
    np.testing.assert_allclose(out["ratio_lower"], byar_low)


def test_overdispersed_counts_widen_the_funnel(oldham):
    areas, _ = simulate(oldham, 4, n_planted=1, multiplier=1.0)
    rng = np.random.default_rng(4)
    noisy = areas.copy()
    mean = noisy["families_engaged"].to_numpy() + 0.5
    noisy["families_engaged"] = rng.poisson(mean * rng.gamma(8, 1 / 8, len(noisy)))
    model = RadarModel(settings=NO_CLUSTERS).fit(noisy)
    assert model.overdispersion_.overdispersed and model.tau2_ > 0
    out = model.flags(noisy)
    e = out["expected"].to_numpy()
    low, high = stats.sqrt_ratio_funnel_limits(e, level=0.998, tau2=model.tau2_)
    exact_low, exact_high = stats.poisson_funnel_limits(e, level=0.998)
    # Limits are the wider of the random-effects and the exact Poisson ones...
    np.testing.assert_allclose(out["lower_limit"], np.minimum(low, exact_low))
    np.testing.assert_allclose(out["upper_limit"], np.maximum(high, exact_high))
    # ...and from E of about 10 up the random-effects ones are strictly wider.
    big = e >= 10
    assert big.sum() > 100
    assert np.all(out.loc[big, "lower_limit"] < exact_low[big])
    assert np.all(np.abs(out["z_adjusted"]) < np.abs(out["z"]) + 1e-12)
    # Where they bind, the adjusted z crosses -3.09 exactly where the ratio crosses the limit.
    crossed = out.loc[big, "ratio"] < out.loc[big, "lower_limit"]
    assert (crossed == (out.loc[big, "z_adjusted"] < -stats.two_sided_z(0.998))).all()


# -- classes and reasons -------------------------------------------------------------------------
def test_planted_areas_are_found_and_beat_the_naive_rule(oldham):
    recalls, precisions, naive_recalls = [], [], []
    for seed in (10, 11, 12):
        areas, truth = simulate(oldham, seed)
        out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS, authority_name="Oldham")
        flagged = set(out.loc[out["flag"] == radar.FLAG_OFF_RADAR, "area_code"])
        recalls.append(len(flagged & truth) / len(truth))
        precisions.append(len(flagged & truth) / max(1, len(flagged)))
        naive = radar.naive_flags(areas)
        naive_recalls.append(len(set(naive.index[naive]) & truth) / len(truth))
    assert np.mean(precisions) >= 0.8
    assert np.mean(recalls) >= 0.8
    assert np.mean(recalls) > np.mean(naive_recalls)


def test_off_the_radar_reason_carries_the_numbers(oldham):
    areas, truth = simulate(oldham, 10)
    out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS, authority_name="Oldham")
    hit = out[out["flag"] == radar.FLAG_OFF_RADAR].iloc[0]
    below = round((1 - hit["observed"] / hit["expected"]) * 100)
    assert hit["need_band"] >= 4 and hit["ratio"] < hit["lower_limit"]
    assert hit["reason"].startswith("Need: IDACI in Oldham's ")
    assert "deprived fifth" in hit["reason"]
    count = int(hit["observed"])
    assert f"Engagement: {count} families, {below}% below what its need predicts" in hit["reason"]
    assert f"({hit['expected']:.0f} expected)" in hit["reason"]
    assert "below the 99.8% funnel limit" in hit["reason"]


def test_every_flag_is_consistent_with_its_evidence(oldham):
    areas, _ = simulate(oldham, 13)
    out = radar.find_off_the_radar(areas, authority_name="Oldham", random_state=1)
    off = out[out["flag"] == radar.FLAG_OFF_RADAR]
    assert (off["need_band"] >= 4).all()
    strong = off["ratio"] < off["lower_limit"]
    own_low = off["local_moran_cluster"].isin(["LL", "LH"])
    supported = (off["ratio"] < off["lower_limit_95"]) & own_low
    assert (strong | supported).all()
    watch = out[out["flag"] == radar.FLAG_WATCH]
    assert (watch["ratio"] < watch["lower_limit_95"]).all()
    well = out[out["flag"] == radar.FLAG_WELL_REACHED]
    assert (well["ratio"] > well["upper_limit_95"]).all()
    calm = out[out["flag"] == radar.FLAG_AS_EXPECTED]
    assert calm["ratio"].between(calm["lower_limit_95"], calm["upper_limit_95"]).all()
    assert out["reason"].str.contains(r"\d").all()


def test_low_need_area_with_a_shortfall_is_watch_not_off_the_radar(oldham):
    areas, _ = simulate(oldham, 14, n_planted=1, multiplier=1.0)
    low = int(np.argmin(areas["idaci_score"] + 1e9 * (areas["children"] < 600)))
    areas.iloc[low, areas.columns.get_loc("families_engaged")] = 0
    out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS, authority_name="Oldham")
    row = out.iloc[low]
    assert row["need_band"] <= 3 and row["ratio"] < row["lower_limit"]
    assert row["flag"] == radar.FLAG_WATCH
    assert "need is outside Oldham's two most deprived fifths" in row["reason"]


def test_small_expected_counts_are_never_flagged(oldham):
    areas, _ = simulate(oldham, 15, n_planted=1, multiplier=1.0, per_child=0.01)
    areas["families_engaged"] = 0  # nothing at all
    areas.iloc[0, areas.columns.get_loc("families_engaged")] = 40
    out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS)
    small = out["expected"] < 5
    assert small.any()
    assert (out.loc[small, "flag"] == radar.FLAG_TOO_FEW).all()
    assert out.loc[small, "reason"].str.contains("too few to judge").all()


def test_reasons_never_print_a_count_from_one_to_the_threshold(oldham):
    areas, _ = simulate(oldham, 16)
    small_counts = [0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4]
    areas.iloc[:12, areas.columns.get_loc("families_engaged")] = small_counts
    out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS, authority_name="Oldham")
    small = out["observed"].between(1, 5)
    assert small.sum() >= 10
    assert out.loc[small, "reason"].str.contains("fewer than 6 families").all()
    for reason, expected in zip(out.loc[small, "reason"], out.loc[small, "expected"], strict=True):
        assert not re.search(r"\b[1-5] famil", reason)
        # No exact percentage either: with the expected count it would give the count back.
        assert re.search(r"at least \d+% below|against", reason)
        if expected > 5:
            bound = int((1 - 5 / expected) * 100)
            assert f"at least {bound}% below" in reason
    six = out[out["observed"] == 6]
    assert six["reason"].str.contains("6 families").all()
    strict = radar.RadarModel(settings=RadarSettings(use_clusters=False),
                              disclosure_threshold=9).fit(areas).flags(areas)
    assert strict.loc[out["observed"] == 7, "reason"].str.contains("fewer than 10 families").all()


def test_referral_anomalies_find_hidden_need_and_front_door_pressure(oldham):
    areas, _ = simulate(oldham, 17, n_planted=1, multiplier=1.0)
    need = areas["idaci_score"].to_numpy()
    hidden = int(np.argmax(need * (areas["children"].to_numpy() > 400)))
    busy = int(np.argmin(np.abs(need - np.median(need)) + 1e9 * (areas["children"] < 400)))
    areas.iloc[hidden, areas.columns.get_loc("referrals")] //= 5
    areas.iloc[busy, areas.columns.get_loc("referrals")] *= 3
    out = radar.find_referral_anomalies(areas, settings=NO_CLUSTERS, authority_name="Oldham")
    assert out.iloc[hidden]["flag"] == radar.FLAG_HIDDEN_NEED
    assert out.iloc[busy]["flag"] == radar.FLAG_FRONT_DOOR
    assert "Front door: " in out.iloc[busy]["reason"]
    assert "above the 99.8% funnel limit" in out.iloc[busy]["reason"]
    assert radar.FLAG_OFF_RADAR not in set(out["flag"])


def test_eb_columns_match_marshall(oldham):
    areas, _ = simulate(oldham, 18)
    out = radar.find_off_the_radar(areas, settings=NO_CLUSTERS)
    eb = stats.marshall_eb(out["observed"], out["children"])
    np.testing.assert_allclose(out["eb_rate"], eb.rates * 1000)
    ebr = stats.marshall_eb(out["observed"], out["expected"])
    np.testing.assert_allclose(out["eb_ratio"], ebr.rates)


# -- local clusters -----------------------------------------------------------------------------
def test_local_moran_finds_a_planted_cold_spot(oldham):
    areas, _ = simulate(oldham, 19, n_planted=1, multiplier=1.0)
    centre = areas.geometry.iloc[60]
    block = areas.geometry.distance(centre) < 1000
    assert 5 <= block.sum() <= 20
    areas.loc[block, "families_engaged"] = (areas.loc[block, "families_engaged"] * 0.3).round()
    out = radar.find_off_the_radar(areas, random_state=0)
    labels = out["local_moran_cluster"]
    assert set(labels) <= {"HH", "LL", "HL", "LH", "ns"}
    assert (labels[block.to_numpy()] == "LL").sum() >= 3
    assert (labels[~block.to_numpy()] == "LL").sum() <= 3
    # FDR: a significant label needs a permutation p at or under the BH cut-off.
    import esda

    cut = esda.fdr(out["local_moran_p"].to_numpy(), 0.05)
    assert (out.loc[labels != "ns", "local_moran_p"] <= cut).all()
    again = radar.find_off_the_radar(areas, random_state=0)
    pd.testing.assert_frame_equal(out, again)


def test_no_geometry_means_no_clusters(oldham):
    areas, _ = simulate(oldham, 20)
    out = radar.find_off_the_radar(pd.DataFrame(areas.drop(columns="geometry")))
    assert (out["local_moran_cluster"] == "n/a").all()


# -- API conventions and errors -----------------------------------------------------------------
def test_estimator_conventions_and_no_mutation(oldham):
    areas, _ = simulate(oldham, 21)
    before = areas.copy()
    model = RadarModel("families_engaged", need="idaci_score", settings=NO_CLUSTERS)
    assert model.fit(areas) is model
    assert model.measure == "families_engaged" and model.settings is NO_CLUSTERS
    out = model.flags(areas, authority_name="Oldham")
    pd.testing.assert_frame_equal(areas, before)
    assert list(out.columns) == radar.OUTPUT_COLUMNS
    assert out["area_code"].tolist() == areas["lsoa_code"].tolist()
    cli = ["area_code", "area_name", "level", "need", "expected", "observed", "ratio",
           "lower_limit", "upper_limit", "flag", "reason"]  # fmt: skip
    assert set(cli) <= set(out.columns)


def test_ward_level_and_periods(oldham):
    areas, _ = simulate(oldham, 22)
    wards = pd.DataFrame(
        {
            "ward_code": [f"E0500{i:04d}" for i in range(20)],
            "ward_name": [f"Ward {i}" for i in range(20)],
        }
    )
    chunks = np.array_split(np.argsort(areas["idaci_score"].to_numpy()), 20)
    for col in ("children", "families_engaged", "referrals"):
        wards[col] = [areas[col].to_numpy()[c].sum() for c in chunks]
    wards["idaci_score"] = [areas["idaci_score"].to_numpy()[c].mean() for c in chunks]
    out = radar.find_off_the_radar(wards, level="ward", settings=NO_CLUSTERS)
    assert (out["level"] == "ward").all() and len(out) == 20
    assert out["need_band"].value_counts().eq(4).all()
    quarters = pd.concat([areas.assign(quarter="2024Q1"), areas.assign(quarter="2024Q2")])
    both = radar.find_off_the_radar(quarters, period_column="quarter", settings=NO_CLUSTERS)
    assert len(both) == 2 * len(areas) and set(both["period"]) == {"2024Q1", "2024Q2"}


def test_naive_rule_by_hand():
    table = pd.DataFrame(
        {
            "lsoa_code": list("ABCDEFGHIJ"),
            "children": [100] * 10,
            "idaci_score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
            "families_engaged": [9, 8, 7, 6, 5, 4, 3, 2, 10, 1],
        }
    )
    # Top need fifth: I, J (>= 0.82 quantile); bottom rate fifth: J, H (<= 2.8 per 100).
    flags = radar.naive_flags(table)
    assert flags[flags].index.tolist() == ["J"]


def test_band_labels_in_words():
    assert radar.band_label(5, 5, "Oldham") == "Oldham's most deprived fifth"
    assert radar.band_label(4, 5, "Oldham") == "Oldham's second most deprived fifth"
    assert radar.band_label(3, 5, "Oldham") == "Oldham's middle fifth"
    assert radar.band_label(2, 5, "Oldham") == "Oldham's second least deprived fifth"
    assert radar.band_label(1, 5, "Oldham") == "Oldham's least deprived fifth"
    assert radar.band_label(7, 10, "Bolton") == "Bolton's fourth most deprived tenth"


def test_errors_say_what_to_do(oldham):
    areas, _ = simulate(oldham, 23)
    with pytest.raises(InputError, match="missing column\\(s\\) 'families_engaged'"):
        RadarModel().fit(areas.drop(columns="families_engaged"))
    with pytest.raises(InputError, match="appear more than once"):
        RadarModel().fit(pd.concat([areas, areas.iloc[:1]]))
    bad = areas.copy()
    bad.loc[bad.index[3], "families_engaged"] = -1
    with pytest.raises(InputError, match="negative value.*E01"):
        RadarModel().fit(bad)
    with pytest.raises(NeedmapError, match="not fitted"):
        RadarModel().flags(areas)
    with pytest.raises(ConfigError, match="method must be one of indirect, poisson"):
        RadarModel(method="glm").fit(areas)
    with pytest.raises(ConfigError, match="high_need_bands must be from 1 to bands - 1 = 4"):
        RadarSettings(high_need_bands=5)
    with pytest.raises(ConfigError, match="watch_level"):
        RadarSettings(watch_level=0.999)
    with pytest.raises(ConfigError, match="overdispersion must be one of"):
        RadarSettings(overdispersion="both")
