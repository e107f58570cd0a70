"""Record ingestion: aliases, dates, duplicates and counted rejects, on small hand-made files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from needmap.errors import InputError
from needmap.sources.records import (
    classify_outcome,
    classify_source,
    parse_dates,
    read_records,
)

TODAY = dt.date(2025, 10, 1)


def write(tmp_path, text, name="refs.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_ssd_column_names_are_recognised(tmp_path):
    p = write(tmp_path, "cin_referral_id,person_id,cin_referral_date,referral_source,nfa,postcode\n"
              "R1,P1,2024-05-01,2A,N,OL1 1AA\nR2,P2,31/05/2024,Police,Y,ol11ad\n")
    batch = read_records(p, "referrals", today=TODAY)
    assert batch.rows_read == 2
    r = batch.records
    assert list(r["referral_id"]) == ["R1", "R2"]
    assert list(r["referral_date"]) == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-31")]
    assert list(r["referral_source"]) == ["school", "police"]
    assert list(r["outcome"]) == ["other", "nfa"]
    assert r["_row"].tolist() == [2, 3]


def test_missing_required_column_lists_found_and_aliases(tmp_path):
    p = write(tmp_path, "id,child,when,postcode\n1,2,2024-01-01,OL1 1AA\n")
    with pytest.raises(InputError, match=r"required column 'referral_id' not found\. Columns "
                       r"found: id, child, when, postcode\. Accepted names for referral_id: "
                       r"referral_id, cin_referral_id"):
        read_records(p, "referrals", today=TODAY)


def test_no_location_column_is_an_error(tmp_path):
    p = write(tmp_path, "referral_id,person_id,referral_date\nR1,P1,2024-01-01\n")
    with pytest.raises(InputError, match="no location column found"):
        read_records(p, "referrals", today=TODAY)


def test_duplicate_ids_dropped_and_counted(tmp_path):
    p = write(tmp_path, "referral_id,person_id,referral_date,postcode\n"
              "R1,P1,2024-01-01,OL1 1AA\nR1,P1,2024-01-01,OL1 1AA\nR2,P2,2024-01-02,OL1 1AA\n")
    batch = read_records(p, "referrals", today=TODAY)
    assert len(batch.records) == 2
    assert batch.rejects_by_reason() == {"duplicate id": 1}
    assert batch.rejects["_row"].tolist() == [3]


def test_bad_and_out_of_range_dates_rejected_by_reason(tmp_path):
    p = write(tmp_path, "referral_id,person_id,referral_date,postcode\n"
              "R1,P1,2024-01-01,A\nR2,P2,not a date,A\nR3,P3,01/01/2030,A\nR4,P4,1900-01-01,A\n"
              "R5,P5,,A\nR6,P6,15/03/2024,A\nR7,P7,2024-02-02,A\n")
    batch = read_records(p, "referrals", today=TODAY)
    assert batch.rejects_by_reason() == {
        "unparseable date": 1, "date in the future or before 1990": 2, "blank referral_date": 1,
    }
    assert sorted(batch.records["referral_id"]) == ["R1", "R6", "R7"]


def test_mostly_unparseable_dates_stop_with_row_and_column(tmp_path):
    p = write(tmp_path, "referral_id,person_id,referral_date,postcode\n"
              "R1,P1,05-31-2024x,A\nR2,P2,May 2024,A\nR3,P3,2024-01-01,A\n")
    with pytest.raises(InputError, match=r"refs\.csv, row 2, column 'referral_date': dates "
                       r"cannot be read \('05-31-2024x'; 2 of 3 rows"):
        read_records(p, "referrals", today=TODAY)


def test_parse_dates_day_first_never_month_first():
    s = parse_dates(pd.Series(["2024-02-03", "03/02/2024", "13/12/2023", "12/13/2023", ""]))
    assert s.iloc[0] == s.iloc[1] == pd.Timestamp("2024-02-03")
    assert s.iloc[2] == pd.Timestamp("2023-12-13")
    assert pd.isna(s.iloc[3]) and pd.isna(s.iloc[4])


def test_title_rows_bom_and_semicolons(tmp_path):
    p = tmp_path / "export.csv"
    p.write_bytes("\ufeffReferrals export;;;\nrun 01/04/2025;;;\n"
                  "Referral ID;Child ID;Date of referral;Postcode\nR1;P1;2024-01-01;OL1 1AA\n"
                  .encode("utf-8"))
    batch = read_records(p, "referrals", today=TODAY)
    assert batch.records["referral_id"].tolist() == ["R1"]
    assert batch.records["_row"].tolist() == [4]


def test_excel_sheet_and_wrong_sheet(tmp_path):
    p = tmp_path / "refs.xlsx"
    df = pd.DataFrame({"referral_id": ["R1"], "person_id": ["P1"],
                       "referral_date": [pd.Timestamp("2024-03-04")], "lsoa_code": ["E01005320"]})
    with pd.ExcelWriter(p) as xw:
        df.to_excel(xw, sheet_name="Referrals", index=False)
    batch = read_records(p, "referrals", sheet="Referrals", today=TODAY)
    assert batch.records["referral_date"].iloc[0] == pd.Timestamp("2024-03-04")
    with pytest.raises(InputError, match="no sheet named 'Data'. Sheets found: Referrals"):
        read_records(p, "referrals", sheet="Data", today=TODAY)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        read_records(write(tmp_path, ""), "referrals")
    with pytest.raises(InputError, match="header but no data rows"):
        read_records(write(tmp_path, "referral_id,person_id,referral_date,postcode\n"), "referrals")


def test_source_and_outcome_classification():
    src = classify_source(pd.Series(["Police", "2A", "3B Health visitor", "GP", "Self",
                                     "Housing", "Anonymous", "", "6"]))
    assert src.tolist() == ["police", "school", "health", "health", "self", "la", "self",
                            "other", "police"]
    out = classify_outcome(pd.Series(["No further action", "Early help", "Social care assessment",
                                      "x"]), pd.Series(["N", "N", "N", "Y"]), range(4))
    assert out.tolist() == ["nfa", "early_help", "social_care", "nfa"]


def test_engagement_priority_and_service(tmp_path):
    p = write(tmp_path, "family_id,start_date,service,priority_family,postcode\n"
              "F1,2024-01-01,Children's centre,Yes,A\nF2,2024-01-02,Early help,no,A\n", "eng.csv")
    r = read_records(p, "engagement", today=TODAY).records
    assert r["service"].tolist() == ["childrens_centre", "early_help"]
    assert r["priority_family"].tolist() == [True, False]
