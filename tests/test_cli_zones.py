"""``needmap zones`` end to end through the console script: staff count, roster, save, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from needmap.config import load_config
from needmap.plans import PlanStore
from needmap.snapshot import load_snapshot
from needmap.zones import is_contiguous
from tests.conftest import ROOT, write_config

NEEDMAP = str(Path(sys.executable).parent / "needmap")
ROSTER = ROOT / "data" / "roster_example.csv"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NEEDMAP, *args], capture_output=True, text=True, timeout=120)


def error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> Path:
    path = write_config(tmp_path_factory.mktemp("zones"))
    proc = run("refresh", "--config", str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module")
def snapshot(cfg):
    return load_snapshot(load_config(cfg).snapshots_folder)


def test_six_staff_give_six_contiguous_balanced_zones(cfg, snapshot, tmp_path):
    out = tmp_path / "zones.csv"
    proc = run("zones", "--config", str(cfg), "--staff", "6", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote {out}: 6 zones of 142 LSOAs" in proc.stdout
    zones = pd.read_csv(out)
    assert list(zones.columns) == ["area_code", "area_name", "zone", "workload"]
    assert sorted(zones["area_code"]) == sorted(snapshot.lsoa["lsoa_code"])
    assert sorted(zones["zone"].unique()) == [1, 2, 3, 4, 5, 6]
    geoms = snapshot.lsoa.set_index("lsoa_code").loc[zones["area_code"], "geometry"]
    assert is_contiguous(gpd.GeoSeries(geoms.to_numpy(), crs=27700), zones["zone"])
    loads = zones.groupby("zone")["workload"].sum()
    assert (loads / (zones["workload"].sum() / 6) - 1).abs().max() <= 0.05


def test_roster_zones_are_saved_with_their_workers(cfg, tmp_path):
    out = tmp_path / "zones.csv"
    proc = run("zones", "--config", str(cfg), "--roster", str(ROSTER), "--out", str(out),
               "--workload", "caseload", "--save", "--author", "Test Lead", "--note", "trial")
    assert proc.returncode == 0, proc.stderr
    assert "Ada Example (fictional) (1.0 FTE)" in proc.stdout
    assert "Saved as plan 1" in proc.stdout
    zones = pd.read_csv(out).set_index("area_code")
    assert zones["zone"].nunique() == 6
    assert zones.loc["E01005427", "zone"] == 1  # postcode OL1 1AA, Ada's base
    assert zones.loc["E01005340", "zone"] == 4  # LSOA code, Dev's base
    plan = PlanStore(load_config(cfg).plans_db).latest_plan()
    assert (plan.author, plan.note, plan.n_zones) == ("Test Lead", "trial", 6)
    assert plan.staff["name"].tolist() == pd.read_csv(ROSTER)["name"].tolist()
    assert len(plan.areas) == 142


def test_ward_level_zones_wards(cfg, tmp_path):
    out = tmp_path / "wards.csv"
    proc = run("zones", "--config", str(cfg), "--staff", "4", "--level", "ward", "--out",
               str(out))
    assert proc.returncode == 0, proc.stderr
    zones = pd.read_csv(out)
    assert len(zones) == 20 and zones["area_code"].str.startswith("E05").all()
    assert zones["zone"].nunique() == 4


def test_bad_fte_is_one_error_line_naming_file_row_and_column(cfg, tmp_path):
    roster = tmp_path / "team.csv"
    roster.write_text("name,fte\nAmy,1\nBo,1.5\n")
    line = error_line(run("zones", "--config", str(cfg), "--roster", str(roster),
                          "--out", str(tmp_path / "z.csv")))
    assert line.startswith(f"Error: {roster}, row 3, column 'fte': '1.5' is not an FTE")
    assert not (tmp_path / "z.csv").exists()


def test_save_without_author_is_refused(cfg, tmp_path):
    line = error_line(run("zones", "--config", str(cfg), "--staff", "6", "--save",
                          "--out", str(tmp_path / "z.csv")))
    assert line == "Error: --save needs --author NAME, who is saving the plan."


def test_staff_and_roster_are_exclusive(cfg):
    proc = run("zones", "--config", str(cfg), "--staff", "6", "--roster", str(ROSTER))
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
