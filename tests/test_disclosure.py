"""Cell-key protection: keys, the p-table, consistency, the published ranges, and utility."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from needmap.disclosure import (
    KEY_RANGE,
    MAX_NOISE,
    NOISE,
    PTable,
    load_key,
    protect,
    record_keys,
    true_value_range,
)
from needmap.errors import SnapshotError

KEY = "abcdefghijklmnop"


def test_record_keys_are_stable_uniform_and_depend_on_the_secret():
    ids = pd.Series([f"R{i}" for i in range(20_000)])
    a1, b1 = record_keys(ids, KEY)
    a2, _ = record_keys(ids.sample(frac=1, random_state=1).sort_index(), KEY)
    assert (a1 == a2).all()  # same id, same key, whatever the order or company
    assert a1.min() >= 0 and a1.max() < KEY_RANGE
    counts = np.bincount(a1, minlength=KEY_RANGE)
    assert counts.std() < 3 * np.sqrt(20_000 / KEY_RANGE)  # about uniform
    assert np.corrcoef(a1, b1)[0, 1] < 0.05  # the two keys are independent
    other, _ = record_keys(ids, "ponmlkjihgfedcba")
    assert (other != a1).mean() > 0.95  # without the secret the keys cannot be computed


def test_the_key_is_created_once_private_and_never_silently_replaced(tmp_path):
    key = load_key(tmp_path, create=True)
    path = tmp_path / "disclosure.key"
    assert len(key) == 16 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(tmp_path, create=True) == key
    path.unlink()
    with pytest.raises(SnapshotError, match="disclosure key is missing, but snapshots were "
                       "published"):
        load_key(tmp_path, create=True, snapshots_exist=True)
    path.write_text("short\n")
    with pytest.raises(SnapshotError, match="damaged"):
        load_key(tmp_path, create=True)


def test_two_refreshes_creating_the_key_at_once_share_one_key(tmp_path, monkeypatch):
    """CI caught it: two concurrent first refreshes both saw no key; the second crashed with
    FileExistsError. Here the other process writes its key while this one draws its own."""
    import needmap.disclosure as disclosure

    real = disclosure.secrets.choice
    theirs = "ZYXWVUTSRQPONMLK"

    def choice_while_another_process_writes(chars):
        path = tmp_path / "disclosure.key"
        if not path.exists():
            path.write_text(theirs + "\n")
        return real(chars)

    monkeypatch.setattr(disclosure.secrets, "choice", choice_while_another_process_writes)
    assert load_key(tmp_path, create=True) == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["disclosure.key"]  # no temporary left


def test_the_p_table_hides_small_counts_and_adds_bounded_zero_mean_noise():
    t = PTable(5)
    keys = np.arange(KEY_RANGE)
    assert (t.publish(np.zeros(KEY_RANGE, int), keys) == 0).all()
    for n in range(1, 6):
        assert (t.publish(np.full(KEY_RANGE, n), keys) == -1).all()  # hidden
    for n in (6, 7, 9, 12, 50, 1000):
        v = t.publish(np.full(KEY_RANGE, n), keys)
        assert v.min() >= 6  # never published from 1 to the threshold
        assert np.abs(v - n).max() <= MAX_NOISE
    big = t.publish(np.full(KEY_RANGE, 500), keys) - 500
    assert big.mean() == 0 and round(big.std(), 2) == 1.45
    assert dict(zip(*np.unique(big, return_counts=True), strict=True)) == NOISE
    # Near the threshold the reflection costs a small upward shift, at most 0.74 on average.
    assert 0 < t.publish(np.full(KEY_RANGE, 6), keys).mean() - 6 < 0.74


def test_the_p_table_in_ons_layout_matches_the_ons_package():
    """Our mechanism reproduces ONS's ``create_perturbed_table`` on the same keys and p-table."""
    ckp = pytest.importorskip("cell_key_perturbation.create_perturbed_table")
    rng = np.random.default_rng(3)
    micro = pd.DataFrame({"area": rng.integers(0, 40, 3000), "source": rng.integers(0, 3, 3000),
                          "record_key": rng.integers(0, KEY_RANGE, 3000)})
    ptable = PTable(5).to_frame(max_count=750)
    theirs = ckp.create_perturbed_table(micro, ptable, geog=["area"], tab_vars=["source"],
                                        record_key="record_key", use_existing_ons_id=False,
                                        threshold=0)
    n = theirs["pre_sdc_count"].to_numpy()
    ckey = theirs["ckey"].to_numpy()
    ours = PTable(5).publish(n, ckey)
    visible = n > 5
    assert visible.sum() > 50
    assert (theirs["count"].to_numpy()[visible] == ours[visible]).all()


def test_true_value_range_is_sound_and_tight():
    t = PTable(5)
    keys = np.arange(KEY_RANGE)
    for n in range(6, 60):
        for v in np.unique(t.publish(np.full(KEY_RANGE, n), keys)):
            lo, hi = true_value_range(int(v), 5)
            assert lo <= n <= hi
    assert true_value_range(0) == (0, 0)
    assert true_value_range("c") == (0, 5)  # a quarter of zeros are hidden too
    assert true_value_range(100) == (96, 104)
    assert true_value_range(6) == (6, 10)  # reflected values come only from just above 5
    with pytest.raises(ValueError):
        true_value_range(3)


def test_protect_publishes_values_and_stand_ins_but_no_count_or_key():
    cells = pd.DataFrame({"level": "lsoa", "area_code": list("abcdef"), "period": "2025Q1",
                          "measure": "referrals", "count": [0, 1, 5, 6, 40, 2],
                          "key": [7, 8, 9, 10, 11, 12], "key_b": [0, 1, 2, 3, 4, 255]})
    out = protect(cells, 5, secret=KEY)
    assert list(out.columns) == ["level", "area_code", "period", "measure", "value", "shown"]
    assert out["shown"].tolist()[1:] == [False, False, True, True, False]
    hidden = out.loc[~out["shown"], "value"]
    assert hidden.between(1, 5).all()
    # A stand-in depends only on the key, never on the hidden count.
    again = protect(cells.assign(count=[0, 4, 2, 6, 40, 5]), 5, secret=KEY)
    assert (again.loc[~again["shown"], "value"].to_numpy() == hidden.to_numpy()).all()
    with pytest.raises(ValueError, match="at least 5"):
        protect(cells, 3, secret=KEY)


def test_a_quarter_of_empty_cells_are_hidden_alike_in_every_release():
    """Red team: with every zero shown, ``c`` meant exactly 1..5 and a hidden total of at most 5
    over five hidden parts pinned each at 1 (680 of 15,204 hidden demo cells pinned)."""
    n = 8000
    cells = pd.DataFrame({"level": "lsoa", "area_code": [f"E{i:08d}" for i in range(n)],
                          "period": "2025Q1", "measure": "referrals_self", "count": 0,
                          "key": 0, "key_b": 0})
    out = protect(cells, 5, secret=KEY)
    hidden = ~out["shown"]
    assert abs(hidden.mean() - 0.25) < 0.02
    # A hidden zero's stand-in is drawn like any hidden cell's, from 1..5 evenly.
    standins = out.loc[hidden, "value"]
    assert standins.between(1, 5).all()
    assert np.bincount(standins, minlength=6)[1:].min() > 0.15 * hidden.sum()
    # Decided by the cell's identity and the secret: the same in a later release, with other
    # cells around it, and unknowable without the secret.
    again = protect(pd.concat([cells.iloc[::-1], cells.assign(period="2025Q2")]), 5, secret=KEY)
    again = again[again["period"] == "2025Q1"].sort_index()
    assert (again["shown"].to_numpy() == out["shown"].to_numpy()).all()
    other = protect(cells, 5, secret="ponmlkjihgfedcba")
    assert (other["shown"] != out["shown"]).mean() > 0.25
    assert out.loc[out["shown"], "value"].eq(0).all()


def _tiny(end: str, n: int = 400):
    """Two wards; ward W1 holds one LSOA only, so its cells are made of that LSOA's records."""
    import datetime as dt

    import geopandas as gpd
    import shapely

    from needmap.indicators import build_indicators

    boxes = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)]
    lsoa = gpd.GeoDataFrame({
        "lsoa_code": ["E01000001", "E01000002", "E01000003"], "lsoa_name": ["a", "b", "c"],
        "ward_code": ["E05000001", "E05000002", "E05000002"], "children": [500.0] * 3,
        "population": [2000.0] * 3, "imd_decile": [1, 2, 3], "idaci_decile": [1, 2, 3],
        "imd_score": [40.0, 30.0, 20.0], "imd_pctile": [90.0, 80.0, 70.0],
        "idaci_score": [0.4, 0.3, 0.2], "idaci_pctile": [90.0, 80.0, 70.0],
    }, geometry=boxes, crs="EPSG:27700")
    wards = gpd.GeoDataFrame({"ward_code": ["E05000001", "E05000002"],
                              "ward_name": ["W1", "W2"]},
                             geometry=[boxes[0], shapely.box(1, 0, 3, 1)], crs="EPSG:27700")
    rng = np.random.default_rng(0)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 630, n), unit="D")
    code = rng.choice(lsoa["lsoa_code"], n)
    ref = pd.DataFrame({"referral_id": [f"R{i}" for i in range(n)],
                        "person_id": [f"P{i}" for i in range(n)], "referral_date": dates,
                        "referral_source": rng.choice(["police", "school"], n),
                        "outcome": "other", "lsoa_code": code,
                        "ward_code": np.where(code == "E01000001", "E05000001", "E05000002")})
    eng = ref.rename(columns={"person_id": "family_id", "referral_date": "engagement_date"})
    eng = eng.assign(service="early_help", priority_family=False)
    a, b = record_keys(ref["referral_id"], KEY)
    fa, fb = record_keys(eng["family_id"], KEY)
    ind = build_indicators(lsoa, wards, ref.assign(key=a, key_b=b), eng.assign(key=fa, key_b=fb),
                           start=dt.date(2024, 1, 1), end=dt.date.fromisoformat(end))
    return ind, protect(ind.cells, 5, secret=KEY)


def test_same_records_same_published_value_in_every_table_and_release():
    ind, pub = _tiny("2025-06-30")
    idx = ["period", "measure"]
    full = pub.assign(count=ind.cells["count"].to_numpy())
    full = full[full["count"] > 0]  # an empty cell has no records: it is hidden by its identity
    w1 = full[full["area_code"] == "E05000001"].set_index(idx)["value"]
    a = full[full["area_code"] == "E01000001"].set_index(idx)["value"]
    assert len(w1) > 20 and (w1 == a.reindex(w1.index)).all()  # W1 = its only LSOA, noise too
    counts = ind.cells.set_index(["area_code", *idx])["count"]
    assert (counts.loc["E05000001"] > 5).any()
    # A later release publishes the earlier quarters unchanged.
    _, later = _tiny("2025-09-30")
    key = ["level", "area_code", "period", "measure"]
    both = pub.merge(later, on=key, suffixes=("_1", "_2"))
    quarters = both[both["period"].astype(str).str.contains("Q")]
    assert len(quarters) > 100 and (quarters["value_1"] == quarters["value_2"]).all()
    assert set(later["period"].astype(str)) - set(pub["period"].astype(str)) >= {"2025Q3"}


def test_utility_authority_totals_within_the_noise_and_strong_flags_unchanged(demo_snapshot):
    from needmap.config import RadarSettings
    from needmap.radar import radar_flags

    raw = demo_snapshot.raw_cells()
    merged = demo_snapshot.protected.merge(raw, on=["level", "area_code", "period", "measure"])
    auth = merged[(merged["level"] == "authority") & merged["shown"]]
    assert (auth["value"] - auth["count"]).abs().max() <= MAX_NOISE
    shown = merged[merged["shown"]]
    assert (shown["value"] - shown["count"]).abs().max() <= MAX_NOISE
    assert not merged.loc[merged["count"].between(1, 5), "shown"].any()
    period = demo_snapshot.configured_period
    settings = RadarSettings(**demo_snapshot.radar_settings)
    for level in ("lsoa", "ward"):
        areas = demo_snapshot.areas(level)
        for kind, measure in (("engagement", "families_engaged"), ("referrals", "referrals")):
            sel = raw[(raw["level"] == level) & (raw["period"] == period)
                      & (raw["measure"] == measure)].set_index("area_code")
            true = sel["count"].reindex(areas[f"{level}_code"]).reset_index(drop=True)
            plain = radar_flags(areas, level=level, kind=kind, settings=settings, threshold=5,
                                authority_name="Oldham", fit_counts=true, decide_counts=true,
                                shown=pd.Series(True, index=true.index))
            # Every area whose count is shown keeps the flag it has without protection.
            a = plain.set_index("area_code")["flag"]
            b = demo_snapshot.flags(level, kind).set_index("area_code")["flag"].reindex(a.index)
            pub = demo_snapshot.cells(level, period)
            pub = pub[pub["measure"] == measure].set_index("area_code")["shown"]
            visible = pub.reindex(a.index).astype(bool)
            assert visible.sum() > len(a) // 2
            assert (a[visible] == b[visible]).all(), (level, kind, a[visible][a != b])
