"""Geocoding: postcode normalisation and point placement, checked against the real Oldham files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needmap.config import load_config
from needmap.errors import InputError
from needmap.sources.boundaries import read_boundaries
from needmap.sources.geocode import geocode, normalise_postcode, points_in_areas, read_postcodes
from needmap.sources.lookups import lsoa_to_ward
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    from tests.conftest import write_config

    cfg = load_config(write_config(tmp_path_factory.mktemp("geo")))
    lsoa = read_boundaries(cfg.lsoa, level="lsoa")
    wards = read_boundaries(cfg.ward, level="ward")
    return {
        "lsoa": lsoa,
        "wards": wards,
        "lookup": lsoa_to_ward(cfg.lookup, lsoa, wards),
        "postcodes": read_postcodes(cfg.postcodes),
    }


def test_normalise_postcode():
    s = normalise_postcode(pd.Series(["ol11aa", "OL1  1AA", " ol1-1aa ", "UNKNOWN", "", None,
                                      "M1 1AE", "m11ae"]))
    assert s.tolist()[:3] == ["OL1 1AA"] * 3
    assert s.isna().tolist()[3:6] == [True, True, True]
    assert s.tolist()[6:] == ["M1 1AE", "M1 1AE"]


def test_points_in_areas_matches_the_published_postcode_lsoa(geo):
    # The demo postcode table carries each postcode's LSOA from a point-in-polygon on the same
    # BGC polygons (needmap init), so every Oldham postcode must come out in the same LSOA.
    raw = pd.read_csv(ROOT / "data/postcodes_oldham_codepoint_open_2025_10.csv")
    got = points_in_areas(raw["eastings"].to_numpy(float), raw["northings"].to_numpy(float),
                          geo["lsoa"], "lsoa_code")
    agree = np.mean(got == raw["lsoa21cd"].to_numpy())
    assert agree > 0.999  # boundary points may go either way
    # PROVENANCE.md: 5,899 Oldham postcodes in Code-Point Open Oct 2025.
    assert len(raw) == 5899


def _records(**cols):
    n = len(next(iter(cols.values())))
    df = pd.DataFrame(cols)
    df["_row"] = range(2, n + 2)
    return df


def test_location_priority_and_rejects(geo):
    recs = _records(
        lsoa_code=["E01005320", "", "", "", "", "E09999999", "X"],
        postcode=["", "OL1 1AA", "ol11aa", "ZZ99 9ZZ", "", "", ""],
        easting=["", "", "", "", "393482", "", ""],
        northing=["", "", "", "", "404988", "", ""],
    )
    out, rejects = geocode(recs, lsoa=geo["lsoa"], lookup=geo["lookup"], wards=geo["wards"],
                           postcodes=geo["postcodes"], path="x.csv", max_reject_share=0.9)
    assert out["location_method"].tolist() == ["lsoa_code", "postcode", "postcode",
                                               "easting_northing"]
    # OL1 1AA is at (393482, 404988): the same LSOA whichever way it is given.
    assert out["lsoa_code"].tolist()[1:] == ["E01005427"] * 3
    assert out["ward_code"].tolist()[1] == "E05014663"  # St Mary's, via the ONS lookup
    reasons = pd.concat(rejects)["reason"].value_counts().to_dict()
    assert reasons == {"postcode not found": 1, "area code not in this authority": 1,
                       "invalid area code": 1}


def test_latitude_longitude(geo):
    recs = _records(latitude=["53.541494"], longitude=["-2.099826"])
    out, _ = geocode(recs, lsoa=geo["lsoa"], lookup=geo["lookup"], wards=geo["wards"],
                     postcodes=None, path="x.csv")
    assert out["lsoa_code"].tolist() == ["E01005427"]


def test_mostly_foreign_codes_stop(geo):
    recs = _records(lsoa_code=["E01000001", "E01000002", "E01005320"])
    with pytest.raises(InputError, match=r"x\.csv, row 2, column 'lsoa_code': 2 of 3 LSOA codes "
                       "not in this authority"):
        geocode(recs, lsoa=geo["lsoa"], lookup=geo["lookup"], wards=geo["wards"],
                postcodes=None, path="x.csv")


def test_ward_code_only_counts_in_ward(geo):
    recs = _records(ward_code=["E05014646"])
    out, _ = geocode(recs, lsoa=geo["lsoa"], lookup=geo["lookup"], wards=geo["wards"],
                     postcodes=None, path="x.csv")
    assert out["ward_code"].tolist() == ["E05014646"] and pd.isna(out["lsoa_code"].iloc[0])


def test_the_postcode_tables_own_lsoa_places_the_record(geo):
    # needmap init writes each postcode's LSOA (from true district codes and the nearest LSOA
    # where a generalised polygon misses it); that LSOA wins over the point. A table LSOA that is
    # not one of the authority's falls back to the point.
    pcs = geo["postcodes"].copy()
    assert pcs.loc["OL1 1AA", "lsoa_code"] == "E01005427"  # as the demo table says
    pcs.loc["OL1 1AA", "lsoa_code"] = "E01005320"
    pcs.loc["OL8 1LH", "lsoa_code"] = "E01000001"
    recs = _records(postcode=["OL1 1AA", "OL8 1LH"])
    out, _ = geocode(recs, lsoa=geo["lsoa"], lookup=geo["lookup"], wards=geo["wards"],
                     postcodes=pcs, path="x.csv")
    assert out["lsoa_code"].tolist() == ["E01005320", "E01005320"]
    assert out["ward_code"].tolist() == ["E05014646", "E05014646"]  # Alexandra
    assert out["location_method"].tolist() == ["postcode", "postcode"]
