"""Property-based tests of the record parser: whatever arrives, only ``InputError`` comes out.

``read_records`` is fed generated exports (real and alias headers, well- and ill-formed cells,
quotes, delimiters, encodings, stray bytes); ``parse_dates`` and ``normalise_postcode`` are checked
for round trips and idempotence.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needmap.errors import InputError
from needmap.sources.geocode import normalise_postcode
from needmap.sources.records import ALIASES, parse_dates, read_records

pytestmark = pytest.mark.slow

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TODAY = dt.date(2025, 9, 30)

# --- cells -----------------------------------------------------------------------------------

_dates = st.dates(dt.date(1850, 1, 1), dt.date(2150, 12, 31))
_recent = st.dates(dt.date(2015, 1, 1), TODAY)
date_cells = st.one_of(
    _recent.map(lambda d: d.isoformat()),
    _recent.map(lambda d: d.strftime("%d/%m/%Y")),
    _recent.map(lambda d: d.strftime("%d/%m/%Y")),
    _dates.map(lambda d: d.isoformat()),
    _dates.map(lambda d: d.strftime("%d/%m/%Y")),
    _dates.map(lambda d: d.strftime("%m/%d/%Y")),
    _dates.map(lambda d: d.strftime("%d/%m/%Y 13:45")),
    st.integers(0, 80_000).map(str),  # Excel serials
    st.sampled_from(["", "NaN", "NULL", "#N/A", "unknown", "31/02/2024", "2024-13-01", "  "]),
    st.text(max_size=12),
)
postcode_cells = st.one_of(
    st.sampled_from(["OL1 4JE", "ol8 3px", "OL83PX", "OL8  3PX", "M1 1AE", "", "N/A", "OL1"]),
    st.sampled_from(["OL1 4JE", "OL8 3PX", "OL2 6QE"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=9),
)
id_cells = st.one_of(st.sampled_from(["R1", "R2", "R3", "", "NULL"]),
                     st.text(alphabet="RP0123456789-", min_size=1, max_size=6))
any_cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=15)
number_cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                         st.integers(-10**7, 10**7).map(str), st.sampled_from(["", "inf", "x"]))

COLUMN_CELLS = {
    "referral_id": id_cells,
    "person_id": id_cells,
    "referral_date": date_cells,
    "engagement_id": id_cells,
    "family_id": id_cells,
    "engagement_date": date_cells,
    "postcode": postcode_cells,
    "lsoa_code": st.sampled_from(["E01005320", "E0100532", "", "x"]),
    "easting": number_cells,
    "northing": number_cells,
    "referral_source": st.sampled_from(["Police", "1A", "School nurse", "", "6"]),
    "nfa": st.sampled_from(["Y", "N", "", "true"]),
    "priority_family": st.sampled_from(["Yes", "No", ""]),
    "service": st.sampled_from(["Early help", "Stay and play", ""]),
}


@st.composite
def exports(draw):
    """(kind, bytes of a file, suffix) for a plausible or mangled export."""
    kind = draw(st.sampled_from(["referrals", "engagement"]))
    required = (["referral_id", "person_id", "referral_date"] if kind == "referrals"
                else ["family_id", "engagement_date"])
    location = draw(st.sampled_from(
        [["postcode"], ["lsoa_code"], ["easting", "northing"], ["postcode", "easting", "northing"],
         ["postcode"], []]))
    optional = draw(st.lists(st.sampled_from(
        ["referral_source", "nfa", "priority_family", "service", "engagement_id"]),
        unique=True, max_size=3))
    fields = required + location + optional
    if draw(st.booleans()):
        fields = draw(st.permutations(fields))
    if draw(st.integers(0, 14)) == 0:
        fields = fields[1:]  # a required column is sometimes missing
    header = [draw(st.sampled_from(ALIASES[f])) if f in ALIASES else f for f in fields]
    if draw(st.booleans()):
        header = [h.upper().replace("_", " ") for h in header]
    n = draw(st.integers(1, 25)) if draw(st.integers(0, 9)) else 0
    rows = [[draw(COLUMN_CELLS.get(f, any_cells)) for f in fields] for _ in range(n)]
    if draw(st.integers(0, 9)) == 0:
        rows = [[draw(any_cells) for _ in r] for r in rows]
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    buf = io.StringIO()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    if draw(st.integers(0, 4)) == 0:
        writer.writerow(["Referrals export"])
        writer.writerow([])
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    if draw(st.integers(0, 5)) == 0:  # mangle: drop or insert characters anywhere
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(['"', delimiter, "\n", "\x00", ""])) + text[i:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 19)) == 0:
        data = draw(st.binary(max_size=200))
    return kind, data


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exports")


@FAST
@given(export=exports())
def test_read_records_only_input_errors_and_every_row_accounted(folder, export):
    kind, data = export
    path = folder / "export.csv"
    path.write_bytes(data)
    try:
        batch = read_records(path, kind, today=TODAY)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert batch.rows_read == len(batch.records) + len(batch.rejects)
    if len(batch.rejects):
        assert batch.rejects["reason"].notna().all()
    spec_date = "referral_date" if kind == "referrals" else "engagement_date"
    dates = batch.records[spec_date]
    assert dates.notna().all()
    assert (dates >= pd.Timestamp(1990, 1, 1)).all() and (dates <= pd.Timestamp(TODAY)).all()
    id_field = "referral_id" if kind == "referrals" else "engagement_id"
    if id_field in batch.records:
        assert not batch.records[id_field].duplicated().any()
    # Row numbers point at lines of the file (header = 1 at least) and never repeat.
    rows = pd.concat([batch.records["_row"], batch.rejects["_row"]]) if len(batch.rejects) else (
        batch.records["_row"])
    assert rows.is_unique and (rows >= 2).all()


@FAST
@given(st.lists(_dates, min_size=1, max_size=20), st.lists(st.booleans(), min_size=20,
                                                          max_size=20))
def test_dates_round_trip_in_both_formats(days, iso):
    text = [d.isoformat() if iso[i] else d.strftime("%d/%m/%Y") for i, d in enumerate(days)]
    parsed = parse_dates(pd.Series(text, dtype=object))
    assert [ts.date() for ts in parsed] == days


@FAST
@given(st.lists(st.one_of(st.text(max_size=12), st.none()), max_size=20))
def test_parse_dates_never_raises_and_keeps_length(values):
    parsed = parse_dates(pd.Series(values, dtype=object))
    assert len(parsed) == len(values)
    assert str(parsed.dtype).startswith("datetime64")


_letter = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_digit = st.sampled_from("0123456789")
postcodes = st.builds(
    lambda a, b, c, d, e, f, g: f"{a}{b or ''}{c}{d or ''} {e}{f}{g}",
    _letter, st.one_of(st.none(), _letter), _digit, st.one_of(st.none(), _digit), _digit,
    _letter, _letter,
)


@FAST
@given(st.lists(st.one_of(st.text(max_size=12), st.none(), postcodes), max_size=30))
def test_normalise_postcode_is_idempotent(values):
    once = normalise_postcode(pd.Series(values, dtype=object))
    twice = normalise_postcode(once)
    assert once.isna().equals(twice.isna())
    assert (once.dropna() == twice.dropna()).all()


@FAST
@given(postcodes, st.sampled_from(["", " ", "  ", "-"]), st.booleans())
def test_normalise_postcode_ignores_case_and_spacing(code, gap, lower):
    outward, inward = code.split(" ")
    messy = f" {outward}{gap}{inward} "
    messy = messy.lower() if lower else messy
    assert normalise_postcode(pd.Series([messy])).iloc[0] == code


@pytest.mark.parametrize("text", ["OL1", "12345", "", "OL1 1AAA", "1OL 1AA"])
def test_normalise_postcode_refuses_non_postcodes(text):
    assert pd.isna(normalise_postcode(pd.Series([text])).iloc[0])
