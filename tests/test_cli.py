"""The CLI end to end (in-process through ``main``; the console script once), and every
user-error case of refresh."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from tests.conftest import ROOT, error_line, write_config
from tests.conftest import cli as run

NEEDMAP = str(Path(sys.executable).parent / "needmap")


@pytest.mark.slow  # several console-script processes
def test_the_console_script_prints_one_error_line_and_help():
    proc = subprocess.run([NEEDMAP, "refresh", "--config", "/nonexistent/needmap.toml"],
                          capture_output=True, text=True, timeout=120)
    assert "config file not found" in error_line(proc)
    bare = subprocess.run([NEEDMAP], capture_output=True, text=True, timeout=120)
    assert bare.returncode == 2 and "usage: needmap" in bare.stderr  # a command is needed
    helped = subprocess.run([NEEDMAP, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "usage: needmap" in helped.stdout


def test_refresh_demo_end_to_end(tmp_path):
    cfg = write_config(tmp_path)
    proc = run("refresh", "--config", str(cfg), "--quiet")
    assert proc.returncode == 0, proc.stderr
    # Oldham on LSOA 2021: 142 LSOAs, 20 wards, 55,241 children 0-15 (ONS mid-2022, the IoD2025
    # IDACI denominator), as PROVENANCE.md ("IoD2025 on LSOA 2021") records.
    assert "20 wards, 142 LSOAs, 55,241 children aged 0-15" in proc.stdout
    assert "rejected: invalid postcode" in proc.stdout
    snaps = [p for p in (tmp_path / "output" / "snapshots").iterdir() if p.is_dir()]
    assert len(snaps) == 1
    manifest = json.loads((snaps[0] / "manifest.json").read_text())
    assert manifest["n_wards"] == 20 and manifest["n_lsoas"] == 142
    assert manifest["children_total"] == 55241
    assert manifest["deprivation_vintage"] == "IoD2025"
    assert manifest["lsoa_vintage"] == "LSOA2021"
    roles = {i["role"] for i in manifest["inputs"]}
    assert {"boundaries.ward", "deprivation", "records.referrals"} <= roles
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    refs = next(r for r in manifest["records"] if r["kind"] == "referrals")
    assert refs["rows_read"] == refs["rows_used"] + sum(refs["rejects"].values())
    lsoa = gpd.read_parquet(snaps[0] / "lsoa.parquet")
    assert lsoa.crs.to_epsg() == 27700 and len(lsoa) == 142
    # Rejects stay local, beside the snapshots, and keep the reason per row.
    rejects = list((tmp_path / "output" / "rejects").glob("*referrals*_rejects.csv"))
    assert len(rejects) == 1
    assert pd.read_csv(rejects[0])["reason"].notna().all()
    # Nothing changed: nothing is written, and it says so.
    same = run("refresh", "--config", str(cfg), "--quiet")
    assert same.returncode == 0 and "Up to date: snapshot" in same.stdout
    # A forced refresh keeps the first snapshot.
    assert run("refresh", "--config", str(cfg), "--quiet", "--force").returncode == 0
    listing = run("snapshots", "--config", str(cfg)).stdout.splitlines()
    assert len(listing) == 2 and listing[1].startswith("*")


def test_missing_config():
    line = error_line(run("refresh", "--config", "/nonexistent/needmap.toml"))
    assert "config file not found" in line


def test_missing_record_file(tmp_path):
    cfg = write_config(tmp_path, a='referrals_synthetic.csv"=>missing.csv"')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "missing.csv: file not found" in line and "Check the path" in line


def test_missing_required_column(tmp_path):
    bad = tmp_path / "refs.csv"
    bad.write_text("ref,person_id,cin_referral_date,postcode\nR1,P1,01/02/2024,OL1 1AA\n")
    cfg = write_config(tmp_path, a=f'{ROOT}/data/synthetic/referrals_synthetic.csv=>{bad}')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "required column 'referral_id' not found" in line
    assert "Columns found: ref, person_id, cin_referral_date, postcode" in line
    assert "cin_referral_id" in line


def test_unparseable_dates(tmp_path):
    bad = tmp_path / "refs.csv"
    bad.write_text("cin_referral_id,person_id,cin_referral_date,postcode\n"
                   "R1,P1,2024.13.45,OL1 1AA\nR2,P2,yesterday,OL1 1AA\n")
    cfg = write_config(tmp_path, a=f'{ROOT}/data/synthetic/referrals_synthetic.csv=>{bad}')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "refs.csv, row 2, column 'cin_referral_date': dates cannot be read" in line
    assert "YYYY-MM-DD or DD/MM/YYYY" in line


def test_unknown_area_codes(tmp_path):
    bad = tmp_path / "refs.csv"
    bad.write_text("cin_referral_id,person_id,cin_referral_date,lsoa_code\n"
                   "R1,P1,2024-01-01,E01000001\nR2,P2,2024-01-02,E01000002\n")
    cfg = write_config(tmp_path, a=f'{ROOT}/data/synthetic/referrals_synthetic.csv=>{bad}')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "refs.csv, row 2, column 'lsoa_code'" in line
    assert "not in this authority" in line and "LSOA vintage" in line


def test_boundary_without_code_column(tmp_path):
    cfg = write_config(tmp_path, a='code_column = "ward_code"=>code_column = "WD24CD"')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "column 'WD24CD' (the ward code column) not found" in line
    assert "Columns found: ward_code, ward_name" in line


def test_boundary_without_crs(tmp_path):
    wards = gpd.read_parquet(ROOT / "boundaries/wards_may2023_bgc_oldham.parquet")
    path = tmp_path / "wards.parquet"
    wards.set_crs(None, allow_override=True).to_parquet(path)
    cfg = write_config(tmp_path, a=f'{ROOT}/boundaries/wards_may2023_bgc_oldham.parquet=>{path}')
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "wards.parquet: the boundary file has no CRS" in line and "EPSG:27700" in line


def test_empty_record_file(tmp_path):
    bad = tmp_path / "refs.csv"
    bad.write_text("")
    cfg = write_config(tmp_path, a=f'{ROOT}/data/synthetic/referrals_synthetic.csv=>{bad}')
    assert "refs.csv: the file is empty" in error_line(run("refresh", "--config", str(cfg)))


def test_wrong_excel_sheet(tmp_path):
    xl = tmp_path / "refs.xlsx"
    pd.read_csv(ROOT / "data/synthetic/referrals_synthetic.csv", comment="#").head(50).to_excel(
        xl, sheet_name="Referrals", index=False
    )
    cfg = write_config(
        tmp_path,
        a=f'"{ROOT}/data/synthetic/referrals_synthetic.csv"=>{{ path = "{xl}", sheet = "Sheet1" }}',
    )
    line = error_line(run("refresh", "--config", str(cfg)))
    assert "refs.xlsx: no sheet named 'Sheet1'. Sheets found: Referrals" in line


def test_excel_records_work(tmp_path):
    xl = tmp_path / "refs.xlsx"
    pd.read_csv(ROOT / "data/synthetic/referrals_synthetic.csv", comment="#", dtype=str).head(
        300
    ).to_excel(xl, sheet_name="Referrals", index=False)
    cfg = write_config(
        tmp_path,
        a=f'"{ROOT}/data/synthetic/referrals_synthetic.csv"=>'
        f'{{ path = "{xl}", sheet = "Referrals" }}',
    )
    proc = run("refresh", "--config", str(cfg), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "300 rows read" in proc.stdout


def test_demo_data_is_seeded_and_labelled(tmp_path):
    cfg = write_config(tmp_path)
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert run("demo-data", "--config", str(cfg), "--out", str(out1)).returncode == 0
    again = run("demo-data", "--config", str(cfg), "--out", str(out2), "--seed", "42")
    assert again.returncode == 0
    for name in ("referrals_synthetic.csv", "engagement_synthetic.csv", "planted_truth.csv"):
        a = (out1 / name).read_text()
        assert a == (out2 / name).read_text()
        assert a.startswith("# SYNTHETIC DATA")
        assert "synthetic" in a.splitlines()[1]
    # The shipped demo files are exactly what the generator writes for the default seed.
    assert (out1 / "referrals_synthetic.csv").read_text() == (
        ROOT / "data/synthetic/referrals_synthetic.csv"
    ).read_text()


def test_flags_and_map_commands(tmp_path):
    cfg = write_config(tmp_path)
    assert run("refresh", "--config", str(cfg), "--quiet").returncode == 0
    out = tmp_path / "flags.csv"
    proc = run("flags", "--config", str(cfg), "--level", "lsoa", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    flags = pd.read_csv(out)
    from needmap.outputs.tables import FLAG_COLUMNS

    assert list(flags.columns) == FLAG_COLUMNS
    assert len(flags) == 142 and flags["area_code"].is_unique
    off = flags[flags["flag"] == "off the radar"]
    assert len(off) >= 1 and off["reason"].str.startswith("Need: IDACI in Oldham's").all()
    observed = pd.to_numeric(flags["observed"], errors="coerce")
    assert not observed.between(1, 5).any()
    html = tmp_path / "map.html"
    proc = run("map", "--config", str(cfg), "--measure", "referral_rate", "--level", "lsoa",
               "--out", str(html))
    assert proc.returncode == 0, proc.stderr
    text = html.read_text()
    assert text.count('"lsoa_code"') >= 142 and "leaflet" in text.lower()
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="https?://', text)


def test_flags_without_snapshot(tmp_path):
    cfg = write_config(tmp_path)
    line = error_line(run("flags", "--config", str(cfg), "--out", str(tmp_path / "f.csv")))
    assert "no snapshot found. Run `needmap refresh" in line
