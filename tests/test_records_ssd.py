"""Records in today's standards: the Standard Safeguarding Dataset's table and column names.

ssd_cin_episodes (cine_*) as referrals, ssd_early_help_episodes (earl_*) as engagement counted by
family through ssd_family (fami_*), and each record placed at the address its person had on the
record's date through ssd_address (addr_*). All records here are SYNTHETIC; the postcodes are
real Oldham postcodes from the demo's Code-Point Open table.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from needmap.cli import main
from needmap.config import RecordSource
from needmap.errors import InputError
from needmap.snapshot import load_snapshot
from needmap.sources.records import (
    RecordLinks,
    postcode_on_date,
    read_addresses,
    read_families,
    read_records,
)
from tests.conftest import ROOT, write_config

TODAY = dt.date(2025, 10, 1)
#: Real Oldham postcodes and the LSOA 2021 each lies in (demo postcode table).
OLD_HOME, OLD_LSOA = "OL8 1LH", "E01005320"  # Alexandra ward
NEW_HOME, NEW_LSOA = "OL1 1AA", "E01005427"  # St Mary's ward

CINE = (
    "cine_referral_id,cine_person_id,cine_referral_date,cine_cin_primary_need_code,"
    "cine_referral_source_code,cine_referral_source_desc,cine_referral_outcome_json,"
    "cine_referral_nfa,cine_close_reason,cine_close_date,cine_referral_team,"
    "cine_referral_worker_id\n"
    "C1,P1,2024-03-04 00:00:00.000,N1,6,Police,{},Y,,,T1,W1\n"
    "C2,P2,2024-05-06 00:00:00.000,N4,2A,Schools,{},N,,,T1,W1\n"
    "C3,P3,2024-07-08 00:00:00.000,N2,3A,Health services - GP,{},N,,,T1,W1\n"
    "C4,P4,2024-09-10 00:00:00.000,N1,1C,Individual - self,{},N,,,T1,W1\n"
)
EARL = (
    "earl_episode_id,earl_person_id,earl_episode_start_date,earl_episode_end_date,"
    "earl_episode_reason,earl_episode_end_reason,earl_episode_organisation,"
    "earl_episode_worker_id\n"
    "E1,P1,2024-04-01,2024-09-30,Parenting,Needs met,Family hub,W2\n"
    "E2,P2,2024-06-01,,School attendance,,Family hub,W2\n"
    "E3,P3,2024-07-15,,Housing,,Family hub,W2\n"
    "E4,P9,2024-08-01,,Parenting,,Family hub,W2\n"
    "E5,,2024-08-02,,Parenting,,Family hub,W2\n"
)
FAMI = "fami_table_id,fami_family_id,fami_person_id\n1,F1,P1\n2,F1,P2\n3,F2,P3\n4,F3,P4\n"
#: P1 moved from OLD_HOME to NEW_HOME on 1 June 2024; P2 has lived at NEW_HOME since 2020; P3's
#: only spell ended before the referral; P4 has no history at all.
ADDR = (
    "addr_table_id,addr_person_id,addr_address_type,addr_address_start_date,"
    "addr_address_end_date,addr_address_postcode,addr_address_json\n"
    f"A1,P1,HOME,2019-02-01,2024-05-31,{OLD_HOME},{{}}\n"
    f"A2,P1,HOME,2024-06-01,,{NEW_HOME},{{}}\n"
    f"A3,P2,HOME,2020-01-01,,{NEW_HOME},{{}}\n"
    f"A4,P3,HOME,2018-01-01,2023-12-31,{OLD_HOME},{{}}\n"
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ssd_cin_episodes_names_map_to_fields(tmp_path):
    path = write(tmp_path, "ssd_cin_episodes.csv", CINE.replace(",T1,W1\n", f",T1,W1,{NEW_HOME}\n")
                 .replace("cine_referral_worker_id\n", "cine_referral_worker_id,postcode\n"))
    batch = read_records(path, "referrals", today=TODAY)
    assert batch.columns["referral_id"] == "cine_referral_id"
    assert batch.columns["person_id"] == "cine_person_id"
    assert batch.columns["referral_date"] == "cine_referral_date"
    assert batch.columns["primary_need"] == "cine_cin_primary_need_code"
    assert batch.columns["nfa"] == "cine_referral_nfa"
    # The CIN census code is read in preference to its description.
    assert batch.columns["referral_source"] == "cine_referral_source_code"
    r = batch.records
    assert r["referral_source"].tolist() == ["police", "school", "health", "self"]
    assert r["outcome"].tolist() == ["nfa", "other", "other", "other"]
    assert r["referral_date"].tolist()[0] == pd.Timestamp("2024-03-04")


def test_early_help_episodes_count_families_through_ssd_family(tmp_path):
    fami = write(tmp_path, "ssd_family.csv", FAMI)
    links = RecordLinks(families=read_families((RecordSource(fami, kind="families"),)))
    # Without a postcode the episodes need an address history; give them one column here.
    earl = write(tmp_path, "ssd_early_help_episodes.csv",
                 EARL.replace("W2\n", f"W2,{NEW_HOME}\n")
                 .replace("earl_episode_worker_id\n", "earl_episode_worker_id,postcode\n"))
    batch = read_records(earl, "engagement", today=TODAY, links=links)
    r = batch.records
    assert batch.columns["engagement_id"] == "earl_episode_id"
    assert batch.columns["engagement_date"] == "earl_episode_start_date"
    assert batch.columns["engagement_end_date"] == "earl_episode_end_date"
    assert batch.columns["engagement_reason"] == "earl_episode_reason"
    assert batch.columns["engagement_end_reason"] == "earl_episode_end_reason"
    # P1 and P2 are one family (F1), P3 another; P9 has no family; E5 has no person.
    assert r["family_id"].tolist() == ["F1", "F1", "F2"]
    assert batch.rejects_by_reason() == {"blank person_id": 1,
                                         "person not in the families table": 1}
    assert batch.rejects["_row"].tolist() == [6, 5]


def test_episodes_by_person_without_a_families_table_say_what_to_add(tmp_path):
    earl = write(tmp_path, "ssd_early_help_episodes.csv", EARL)
    with pytest.raises(InputError, match=r"required column 'family_id' not found.*The file names "
                       r"persons \(earl_person_id\): add \[records\] families"):
        read_records(earl, "engagement", today=TODAY)


def test_mostly_unlinked_persons_stop(tmp_path):
    fami = write(tmp_path, "ssd_family.csv", "fami_family_id,fami_person_id\nF1,P1\n")
    links = RecordLinks(families=read_families((RecordSource(fami, kind="families"),)))
    earl = write(tmp_path, "eh.csv", EARL.replace("W2\n", f"W2,{NEW_HOME}\n")
                 .replace("earl_episode_worker_id\n", "earl_episode_worker_id,postcode\n"))
    with pytest.raises(InputError, match=r"eh\.csv, row 3, column 'earl_person_id': persons not "
                       r"in the \[records\] families table \('P2'; 3 of 5 rows"):
        read_records(earl, "engagement", today=TODAY, links=links)


def test_postcode_on_date_worked_by_hand(tmp_path):
    addr = read_addresses((RecordSource(write(tmp_path, "ssd_address.csv", ADDR + (
        "A5,P5,HOME,,,OL1 2QR,{}\n")), kind="addresses"),))
    person = pd.Series(["P1", "P1", "P1", "P1", "P2", "P3", "P4", "P5", ""])
    dates = pd.to_datetime(pd.Series(["2024-05-31", "2024-06-01", "2019-01-31", "2025-01-01",
                                      "2021-07-01", "2024-02-01", "2024-02-01", "1995-01-01",
                                      "2024-02-01"]))
    got = [None if pd.isna(v) else v for v in postcode_on_date(person, dates, addr)]
    assert got == [OLD_HOME,  # last day of the first spell (end dates are inclusive)
                   NEW_HOME,  # first day of the second
                   None,  # before any spell
                   NEW_HOME,  # an open spell runs on
                   NEW_HOME,
                   None,  # the only spell ended before the date
                   None,  # no history
                   "OL1 2QR",  # no start and no end: always there
                   None]


def test_address_rows_with_unreadable_dates_are_left_out_with_a_warning(tmp_path):
    path = write(tmp_path, "ssd_address.csv", ADDR + "A9,P9,HOME,yesterday,,OL1 2QR,{}\n")
    with pytest.warns(UserWarning, match=r"1 address row\(s\) have dates that cannot be read"):
        addr = read_addresses((RecordSource(path, kind="addresses"),))
    assert len(addr) == 4 and "P9" not in set(addr["person_id"])


def test_ssd_exports_run_through_refresh_placed_by_address_history(tmp_path, capsys):
    cine = write(tmp_path, "ssd_cin_episodes.csv", CINE)
    earl = write(tmp_path, "ssd_early_help_episodes.csv", EARL)
    fami = write(tmp_path, "ssd_family.csv", FAMI)
    addr = write(tmp_path, "ssd_address.csv", ADDR)
    cfg = write_config(
        tmp_path,
        a=f'"{ROOT}/data/synthetic/referrals_synthetic.csv"=>"{cine}"',
        b=f'"{ROOT}/data/synthetic/engagement_synthetic.csv"=>"{earl}"',
        c=f'synthetic = true=>synthetic = true\naddresses = [{{ path = "{addr}" }}]\n',
        f=f'"{ROOT}/data/synthetic/families_synthetic.csv"=>"{fami}"',
        d='start = "2022-10-01"=>start = "2024-01-01"',
        e='end = "2025-09-30"=>end = "2024-12-31"',
    )
    assert main(["refresh", "--config", str(cfg), "--quiet"]) == 0
    out = capsys.readouterr().out
    # Referrals: C1 (P1, March 2024) at the old home, C2 (P2) at the current one; C3's person had
    # no address then and C4's has no history at all.
    assert "ssd_cin_episodes.csv: 4 rows read, 2 used, 2 rejected" in out
    assert "rejected: no address on the record's date 2" in out
    # Episodes: E1 (P1, April 2024) at the old home; E2 (P2), E3 (P3's spell ended 2023: none);
    # E4 (P9) has no family, E5 no person.
    assert "ssd_early_help_episodes.csv: 5 rows read, 2 used, 3 rejected" in out
    assert "located by: address/history 2" in out
    snap = load_snapshot(next((tmp_path / "output" / "snapshots").glob("2*")))
    raw = snap.raw_cells()
    raw = raw[(raw["level"] == "lsoa") & (raw["period"] == snap.configured_period)]
    lsoa = raw.pivot(index="area_code", columns="measure", values="count")
    assert lsoa.loc[OLD_LSOA, "referrals"] == 1 and lsoa.loc[NEW_LSOA, "referrals"] == 1
    assert lsoa.loc[OLD_LSOA, "families_engaged"] == 1  # F1, placed where P1 lived in April
    assert lsoa.loc[NEW_LSOA, "families_engaged"] == 1  # F1 again, by P2's episode in June
    assert lsoa["referrals"].sum() == 2
    roles = {i["role"] for i in snap.manifest["inputs"]}
    assert {"records.families", "records.addresses"} <= roles


def test_address_history_wins_over_the_exports_own_postcode(tmp_path):
    addr = read_addresses((RecordSource(write(tmp_path, "a.csv", ADDR), kind="addresses"),))
    cine = write(tmp_path, "c.csv", "cine_referral_id,cine_person_id,cine_referral_date,postcode\n"
                 f"C1,P1,2024-03-04,{NEW_HOME}\nC2,P4,2024-03-04,{NEW_HOME}\n")
    batch = read_records(cine, "referrals", today=TODAY, links=RecordLinks(addresses=addr))
    # P1 lived at the old home in March 2024: the export's current postcode is not used. P4 has
    # no history, so the export's own postcode stands.
    assert batch.records["postcode"].tolist() == [OLD_HOME, NEW_HOME]
    assert batch.records["_postcode_from_history"].tolist() == [True, False]
