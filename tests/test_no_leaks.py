"""A grep over every page and every export: no record-level field, no unsuppressed small count.

Record-level fields are the synthetic ids (``SYN-R…`` referrals, ``SYN-P…`` people, ``SYN-F…``
families, ``SYN-E…`` engagements), the exports' column names for them, dates of birth, and record
postcodes. Counts are read from every table a page shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from needmap.indicators import COUNT_COLUMNS
from tests.conftest import ROOT, write_config

pytestmark = pytest.mark.slow

RECORD_FIELDS = re.compile(
    r"SYN-[RPFE]\d|cin_referral_id|person_id|family_id|engagement_id|date_of_birth|"
    r"\bdob\b|referral_date|engagement_start_date", re.I
)
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
PAGES = ["overview", "off_radar", "zones", "my_zone", "data"]
COUNT_LABELS = {"Referrals", "Families engaged", "Priority families engaged", "observed",
                "Observed", "workload", *COUNT_COLUMNS,
                # outcomes: counts in what followed, QSU10, trends, targeting, deciles
                "families", "rereferred", "stepped_up", "all_services", "early_help",
                "childrens_centres", "latest_value", "all", "childrens_centre"}


def _small_counts(df: pd.DataFrame) -> list[str]:
    bad = []
    for col in df.columns:
        if str(col) in COUNT_LABELS:
            v = pd.to_numeric(df[col], errors="coerce")
            bad += [f"{col}={x:g}" for x in v[(v >= 1) & (v <= 5)]]
    return bad


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("leaks")
    cfg = write_config(tmp)
    old = os.environ.get("NEEDMAP_CONFIG")
    os.environ["NEEDMAP_CONFIG"] = str(cfg)
    yield cfg
    if old is None:
        os.environ.pop("NEEDMAP_CONFIG", None)
    else:
        os.environ["NEEDMAP_CONFIG"] = old


def _texts(at: AppTest) -> tuple[str, list[pd.DataFrame]]:
    parts, frames = [], []
    for kind in ("markdown", "caption", "title", "subheader", "info", "warning", "success",
                 "metric", "text"):
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")))
    for df in at.dataframe:
        frames.append(df.value)
        parts.append(df.value.to_csv(index=False))
    return "\n".join(parts), frames


def test_every_page_shows_no_record_field_or_small_count(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    # Open the detail panel on the LSOA with the fewest families engaged (the likeliest small
    # count), and build and save a plan so My zone has something to show.
    from needmap.config import load_config
    from needmap.outputs.tables import area_table
    from needmap.snapshot import load_snapshot

    table = area_table(load_snapshot(load_config(app_env).snapshots_folder), "lsoa")
    hidden = table.data.loc[table.hidden["families_engaged"].to_numpy(), "lsoa_code"]
    at.session_state["selected_lsoa"] = (hidden.iloc[0] if len(hidden)
                                         else table.data["lsoa_code"].iloc[0])
    at.switch_page("needmap/app/pages/zones.py").run()
    assert not at.exception
    next(b for b in at.button if b.label == "Build zones").click().run()
    at.text_input(key="zones_author").set_value("Tester").run()
    next(b for b in at.button if b.label == "Save plan").click().run()
    assert not at.exception and any("Saved as plan" in s.value for s in at.success)
    seen = 0
    for page in PAGES:
        at.switch_page(f"needmap/app/pages/{page}.py").run()
        assert not at.exception, page
        text, frames = _texts(at)
        assert not RECORD_FIELDS.search(text), (page, RECORD_FIELDS.search(text))
        for df in frames:
            assert _small_counts(df) == [], page
        seen += len(frames)
    assert seen >= 6  # tables were really read: overview detail, flags, zones, my zone, data


def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = str(Path(sys.executable).parent / "needmap")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=180)


def test_every_export_shows_no_record_field_or_small_count(app_env, tmp_path):
    cfg = str(app_env)
    assert _cli("refresh", "--config", cfg, "--quiet").returncode == 0
    outputs = {
        "flags.csv": ["flags", "--out"],
        "flags_ref.csv": ["flags", "--measure", "referrals", "--out"],
        "flags_ward.csv": ["flags", "--level", "ward", "--out"],
        "zones.csv": ["zones", "--staff", "6", "--workload", "caseload", "--out"],
        "map.html": ["map", "--measure", "families_engaged", "--out"],
        "tables/tables.csv": ["tables", "--out"],
        "trends.csv": ["trends", "--level", "lsoa", "--out"],
        "trend_area.csv": ["trends", "--level", "lsoa", "--area", "E01005320", "--out"],
        "changes.csv": ["changes", "--out"],
        "followup.csv": ["followup", "--level", "lsoa", "--out"],
        "targeting.csv": ["targeting", "--out"],
        "deciles.csv": ["targeting", "--by-decile", "--out"],
        "qsu10.csv": ["qsu10", "--quarter", "2025Q3", "--out"],
        "report.html": ["report", "--quarter", "2025Q3", "--out"],
    }
    for name, args in outputs.items():
        path = tmp_path / name
        target = path.parent if name.startswith("tables/") else path
        proc = _cli(*args[:-1], "--config", cfg, args[-1], str(target))
        assert proc.returncode == 0, proc.stderr
        text = path.read_text()
        assert not RECORD_FIELDS.search(text), name
        assert not POSTCODE.search(text), (name, POSTCODE.search(text))
        if name.endswith(".csv"):
            df = pd.read_csv(path)
            assert _small_counts(df.rename(columns={"workload": "observed"})) == [], name
            if "value" in df:
                assert _small_counts(df.rename(columns={"value": "observed"})) == [], name
        elif name == "report.html":
            cells = re.findall(r"<td class=num>([^<]*)</td>", text)
            assert cells and not [c for c in cells if re.fullmatch(r"[1-5]", c)], name
        else:
            values = {int(v) for v in re.findall(r'"value": "(\d+)"', text)}
            assert values and not values & {1, 2, 3, 4, 5}
