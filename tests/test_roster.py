"""Rosters: every kind of base, and errors that name the file, row, column and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from needmap.errors import InputError
from needmap.sources.roster import base_points, read_roster


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


def test_read_roster_parses_every_kind_of_base(tmp_path: Path):
    p = write(tmp_path, """
        Name , FTE, Base, Email
        Amy,1,ol11aa,amy@example.org
        Bo,0.5,E01005320,
        Cy,0.8,"393482,404988",
        Di,1,,
    """)
    r = read_roster(p)
    assert r["name"].tolist() == ["Amy", "Bo", "Cy", "Di"]
    assert r["fte"].tolist() == [1.0, 0.5, 0.8, 1.0]
    assert r["base"].iloc[:3].tolist() == ["OL1 1AA", "E01005320", "393482,404988"]
    assert r["base_kind"].iloc[:3].tolist() == ["postcode", "area_code", "point"]
    assert r["base"].isna().tolist() == [False, False, False, True]
    assert r["base_kind"].isna().tolist() == [False, False, False, True]
    assert r["row"].tolist() == [2, 3, 4, 5]
    pcs = pd.DataFrame({"easting": [393482.0], "northing": [404988.0]},
                       index=pd.Index(["OL1 1AA"], name="postcode"))
    assert base_points(r, pcs) == [(393482.0, 404988.0), "E01005320", (393482.0, 404988.0),
                                   None]
    with pytest.raises(InputError, match="row 2, column 'base'.*no \\[postcodes\\] table"):
        base_points(r)


@pytest.mark.parametrize(("text", "match"), [
    ("name,fte\nAmy,1.5\n", r"roster.csv, row 2, column 'fte': '1.5' is not an FTE"),
    ("name,fte\nAmy,\n", r"row 2, column 'fte'"),
    ("name,fte\nAmy,1\n,1\n", r"row 3, column 'name': empty"),
    ("name,fte\nAmy,1\namy,1\n", r"row 3, column 'name': 'amy' is also on row 2"),
    ("name,fte,base\nAmy,1,Oldham\n", r"row 2, column 'base': 'Oldham' is not a postcode"),
    ("name,fte,base\nAmy,1,\"-2.1,53.5\"\n", r"row 2, column 'base'.*longitude,latitude"),
    ("name,fte,email\nAmy,1,amy\n", r"row 2, column 'email'"),
    ("name,fet\nAmy,1\n", r"roster.csv, column 'fet': unknown roster column"),
    ("name\nAmy\n", r"roster.csv: no 'fte' column; found \['name'\]"),
    ("name,fte\n", r"header but no data rows"),
])
def test_roster_errors_name_file_row_column_and_fix(tmp_path: Path, text: str, match: str):
    with pytest.raises(InputError, match=match):
        read_roster(write(tmp_path, text))


def test_missing_roster_file(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        read_roster(tmp_path / "nope.csv")


def test_a_roster_saved_by_excel_reads_like_any_export(tmp_path: Path):
    """A title row, a byte-order mark, cp1252 and semicolons: the records reader handles them."""
    p = tmp_path / "team.csv"
    p.write_bytes("Team roster, April\r\n\r\nName;FTE;Base\r\nZoë;1;OL1 1AA\r\nBo;0,5;\r\n"
                  .encode("cp1252"))
    with pytest.raises(InputError, match=r"team.csv, row 5, column 'FTE': '0,5' is not an FTE"):
        read_roster(p)
    p.write_bytes(b"\xef\xbb\xbfName;FTE;Base\r\nZo\xc3\xab;1;OL1 1AA\r\n")
    assert read_roster(p)["name"].tolist() == ["Zoë"]


def test_errors_name_an_upload_by_its_own_name(tmp_path: Path):
    p = write(tmp_path, "name,fte\nA,1\nB,2\n", "tmp123.csv")
    with pytest.raises(InputError, match=r"^my team\.csv, row 3, column 'fte'"):
        read_roster(p, shown_name="my team.csv")
