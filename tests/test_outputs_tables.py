"""Published tables come from protected values only; comparisons use published periods only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needmap.errors import InputError
from needmap.indicators import period_years
from needmap.outputs import tables
from needmap.outputs.files import csv_text, neutralise


def test_area_table_shows_protected_values_and_derives_rates_from_them(demo_snapshot):
    snap = demo_snapshot
    t = tables.area_table(snap, "lsoa")
    cells = snap.cells("lsoa", snap.configured_period)
    value = cells.pivot(index="area_code", columns="measure", values="value")
    shown = cells.pivot(index="area_code", columns="measure", values="shown")
    data = t.data.set_index("lsoa_code")
    for m in ("referrals", "families_engaged", "referrals_self"):
        visible = shown[m].reindex(data.index)
        assert (data.loc[visible, m] == value.loc[visible.index[visible], m]).all()
        assert data.loc[~visible, m].isna().all()
        assert (t.hidden[m].to_numpy() == ~visible.to_numpy()).all()
    years = period_years(snap.period_start, snap.period_end)
    expected = 1000 * data["referrals"] / (data["children"] * years)
    assert np.allclose(data["referral_rate"], expected, equal_nan=True)
    # Hidden counts hide what is built on them.
    assert (t.hidden["nfa_share"] >= t.hidden["referrals_nfa"]).all()
    shown_text = t.shown()
    assert set(shown_text.loc[t.hidden["referrals_self"].to_numpy(), "referrals_self"]) == {"c"}
    # Published, not true: somewhere the noise shows.
    raw = snap.raw_cells()
    raw = raw[(raw["level"] == "lsoa") & (raw["period"] == snap.configured_period)]
    true = raw.pivot(index="area_code", columns="measure", values="count")["referrals"]
    assert (data["referrals"] != true.reindex(data.index)).any()


def test_authority_figures_and_quarters_come_from_the_same_protected_cells(demo_snapshot):
    snap = demo_snapshot
    auth = tables.authority_figures(snap)
    cells = snap.cells("authority", snap.configured_period).set_index("measure")
    assert auth["referrals"] == cells.at["referrals", "value"]
    q = tables.quarterly_table(snap, "authority", snap.authority_code)
    assert q["quarter"].tolist() == snap.quarters()
    assert (q["referral_rate"] == 1000 * q["referrals"] / (q["children"] * 0.25)).all()


def test_change_compares_two_published_periods_of_one_kind_only(demo_snapshot):
    snap = demo_snapshot
    quarters = snap.quarters()
    years = tables.comparable_periods(snap, "year")
    ch = tables.change_table(snap, "lsoa", "referrals", quarters[-5], quarters[-1])
    a = tables.area_table(snap, "lsoa", quarters[-5]).data["referrals"]
    b = tables.area_table(snap, "lsoa", quarters[-1]).data["referrals"]
    assert np.allclose(ch.data["change"], b - a, equal_nan=True)
    assert ch.hidden["change"].sum() >= max(ch.hidden["before"].sum(), ch.hidden["after"].sum())
    with pytest.raises(InputError, match="two different published quarters"):
        tables.change_table(snap, "lsoa", "referrals", quarters[-1], quarters[-1])
    with pytest.raises(InputError, match="two different published quarters"):
        tables.change_table(snap, "lsoa", "referrals", years[0], quarters[-1])
    with pytest.raises(InputError, match="two different published quarters"):
        tables.change_table(snap, "lsoa", "referrals", snap.configured_period, years[0])
    with pytest.raises(InputError, match="is not published"):
        tables.change_table(snap, "lsoa", "referrals", "2025Q2-2025Q3", quarters[-1])


def test_the_protected_export_is_every_published_cell_with_c_for_hidden(demo_snapshot):
    export = tables.protected_export(demo_snapshot)
    t = export["tables"]
    assert list(t.columns) == ["level", "area_code", "period", "measure", "value"]
    assert len(t) == len(demo_snapshot.protected)
    numbers = pd.to_numeric(t["value"], errors="coerce")
    assert not numbers.between(1, demo_snapshot.threshold).any()  # no stand-in leaves
    assert (t["value"] == "c").sum() == (~demo_snapshot.protected["shown"]).sum()
    areas = export["areas"]
    lsoas = areas[areas["level"] == "lsoa"]
    assert lsoas["ward_code"].str.startswith("E05").all()
    assert set(export["periods"]["kind"]) == {"quarter", "year", "configured"}
    assert export["manifest"]["threshold"] == 5 and export["manifest"]["method"] == "cell_key"


def test_flags_table_hides_small_observed_and_its_ratio(demo_snapshot):
    t = tables.flags_table(demo_snapshot, "lsoa", "referrals")
    hidden = t["observed"].eq("c")
    assert (t.loc[hidden, "ratio"] == "c").all()
    numbers = pd.to_numeric(t["observed"], errors="coerce")
    assert not numbers.between(1, 5).any()
    assert t.columns.tolist() == tables.FLAG_COLUMNS
    with pytest.raises(InputError, match="kind must be"):
        tables.flags_table(demo_snapshot, "lsoa", "both")


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "=1+1", "@SUM(1)", "+1+1", "-1+1",
                                  "\tcmd", "\rcmd"])
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(text):
    assert neutralise(text) == ("'" + text).replace("\r", " ")
    import io

    out = csv_text(pd.DataFrame({"area_name": [text, "Oldham 001A"], "value": [-1.5, 3]}))
    back = pd.read_csv(io.StringIO(out))
    assert back["area_name"].tolist() == [("'" + text).replace("\r", " "), "Oldham 001A"]
    assert back["value"].tolist() == [-1.5, 3.0]


def test_numbers_stay_numbers():
    assert neutralise("-16.6") == "-16.6" and neutralise(-3) == -3 and neutralise("+4") == "+4"


def test_flags_csv_writes_whole_children_and_percentiles(demo_snapshot):
    text = tables.flags_table(demo_snapshot, "lsoa", "engagement").to_csv(index=False)
    rows = pd.read_csv(__import__("io").StringIO(text), dtype=str)
    assert not rows["children"].dropna().str.contains(r"\.").any()
    assert not rows["need_pctile"].dropna().str.contains(r"\.").any()


def test_flag_words_describe_the_method_the_snapshot_used(demo_snapshot):
    """The page's words come from the radar settings stored with the snapshot: the false
    discovery rate and the watch funnel, never the fixed 99.8% limit or the cold-spot route
    that an earlier radar used."""
    import dataclasses

    from needmap.outputs import flags as flag_words

    words = flag_words.descriptions(demo_snapshot, "engagement")
    assert "about 8 in 10 areas flagged are real" in words["off the radar"]
    assert "false discovery rate of 20%" in words["off the radar"]
    assert "95% funnel" in words["watch"]
    text = " ".join([*words.values(), *flag_words.limit_levels(demo_snapshot),
                     flag_words.method_words(demo_snapshot)])
    assert "99.8" not in text and "cold spot" not in text and "hot spot" not in text
    assert "smooth curve" in flag_words.method_words(demo_snapshot)

    radar = {**demo_snapshot.manifest["radar"], "fdr": 0.1, "watch_level": 0.9,
             "method": "indirect"}
    other = dataclasses.replace(demo_snapshot, manifest={**demo_snapshot.manifest,
                                                         "radar": radar})
    words = flag_words.descriptions(other, "referrals")
    assert "about 9 in 10 areas flagged are real" in words["hidden need"]
    assert "false discovery rate of 10%" in words["front-door pressure"]
    assert "90% funnel" in words["watch"]
    assert flag_words.limit_levels(other) == ("flag limit (false discovery rate 10%)",
                                              "90% funnel")
    assert "each need band" in flag_words.method_words(other)
