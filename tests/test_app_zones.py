"""The Zones and My zone pages through Streamlit's AppTest, on a temporary copy of the demo:
build, lock, save, restore, pick a worker, and the zone pack offered for download."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from needmap.config import load_config
from needmap.plans import PlanStore
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
ZONES = "needmap/app/pages/zones.py"
MY_ZONE = "needmap/app/pages/my_zone.py"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    path = write_config(tmp_path_factory.mktemp("app_zones"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEEDMAP_CONFIG", str(path))
        yield path


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    return _ok(at.switch_page(name).run())


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _table(at: AppTest, column: str):
    """The first table on the page with this column (AppTest does not expose table keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _zone_features(at: AppTest) -> dict[str, str]:
    """Area code -> zone label of the features on the page's first map."""
    comp = next(c for c in at.get("component_instance")
                if c.proto.component_name.endswith("st_folium"))  # fmt: skip
    script = json.loads(comp.proto.json_args)["script"]
    props = [json.loads(p) for p in re.findall(r'"properties": (\{[^{}]*\})', script)]
    return {p["lsoa_code"]: p["category"] for p in props if "lsoa_code" in p}


def _number(column) -> list[float]:
    """A table column as numbers (tables show text: "1,047", "−2%", "c")."""
    return [float(str(v).replace(",", "").replace("−", "-").rstrip("%")) for v in column]


def test_my_zone_without_a_plan_shows_a_suggested_plan_to_a_lead(config_path):
    """My zone was empty until a plan was saved; a lead now sees the default plan, said to be
    unsaved, with the way to Zones."""
    at = _page(MY_ZONE)
    assert any("No zone plan has been saved yet" in w.value and "suggested" in w.value
               for w in at.warning)
    assert len(at.selectbox(key="my_zone_worker").options) == load_config(config_path).zones.staff
    assert [m.label for m in at.metric][0] == "Areas"
    areas = _table(at, "Flag")
    assert len(areas) == int(at.metric[0].value) > 0
    assert len(at.get("download_button")) == 1
    assert PlanStore(load_config(config_path).plans_db).latest_plan() is None  # nothing saved


def test_my_zone_without_a_plan_tells_staff_plainly(config_path, monkeypatch):
    """Staff never see the suggested plan: no zone is theirs until a lead saves one."""
    from needmap.access import Access
    from needmap.app import state

    monkeypatch.setattr(state, "current_access",
                        lambda: Access(user="bo@council.gov.uk", role="staff"))
    at = AppTest.from_file(str(ROOT / MY_ZONE), default_timeout=120).run()
    _ok(at)
    assert any("No zone plan has been saved yet, so you have no zone" in i.value
               for i in at.info)
    assert not at.warning and not at.metric and not at.get("component_instance")


def test_build_lock_save_and_restore(config_path):
    at = _page(ZONES)
    assert at.title[0].value == "Zones"
    assert at.radio(key="zones_level").value == "lsoa"
    assert at.selectbox(key="zones_measure").value == "children_need"
    assert at.number_input(key="zones_staff").value == 6
    assert at.radio(key="zones_source").value == "count"
    assert any("press **Build zones**" in i.value for i in at.info)

    _button(at, "Build zones").click().run()
    _ok(at)
    from needmap.snapshot import load_snapshot

    n = len(load_snapshot(load_config(config_path).snapshots_folder).lsoa)
    table = _table(at, "Against target")
    assert len(table) == 6 and sum(_number(table["Areas"])) == n
    assert list(table["Zone"]) == ["1", "2", "3", "4", "5", "6"]
    # One format per kind: whole signed percentages, counts with separators.
    assert all(re.fullmatch(r"[+-]\d+%", v) for v in table["Against target"])
    assert max(abs(v) for v in _number(table["Against target"])) <= 5
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", v) for v in table["Workload"])
    assert "Off the radar" in table.columns and "To watch" in table.columns
    zones = _zone_features(at)
    assert len(zones) == n and len(set(zones.values())) == 6

    # Lock two areas of other zones into zone 1 and rebuild.
    moved = [c for c, z in zones.items() if z != "Zone 1"][:2]
    at.multiselect(key="zones_lock_areas").set_value(moved)
    at.number_input(key="zones_lock_zone").set_value(1)
    _button(at, "Lock and rebuild").click().run()
    _ok(at)
    rebuilt = _zone_features(at)
    assert all(rebuilt[c] == "Zone 1" for c in moved)
    assert any("Locked:" in m.value for m in at.markdown)

    at.text_input(key="zones_author").input("Test Lead").run()
    _button(at, "Save plan").click().run()
    _ok(at)
    assert any("Saved as plan 1" in s.value for s in at.success)
    store = PlanStore(load_config(config_path).plans_db)
    plan = store.latest_plan()
    assert plan.author == "Test Lead" and plan.n_zones == 6 and len(plan.areas) == n
    assert (plan.level, plan.measure) == ("lsoa", "children_need")
    assert plan.areas.set_index("area_code").loc[moved, "zone"].eq(1).all()
    assert "2 locked" in plan.note
    plans = _table(at, "Restored from plan")
    assert len(plans) == 1 and plans["Plan"].tolist() == ["1"]
    assert "children_need" not in plans.to_string()

    _button(at, "Restore as the newest plan").click().run()
    _ok(at)
    assert any("restored as plan 2" in s.value for s in at.success)
    assert store.latest_plan().restored_from == 1


def test_locking_every_area_is_explained_and_recoverable(config_path):
    """"Select all" then "Lock and rebuild" used to leave the page without map or Clear locks."""
    at = _page(ZONES)
    _button(at, "Build zones").click().run()
    lock = at.multiselect(key="zones_lock_areas")
    everything = list(lock.options)
    lock.set_value(everything)
    _button(at, "Lock and rebuild").click().run()
    _ok(at)  # no error, the map is still there
    assert any("Not locked: 5 zone(s) would have no area left" in w.value for w in at.warning)
    assert len(_zone_features(at)) == len(everything)
    assert not any("Locked:" in m.value for m in at.markdown)


def test_example_roster_names_the_workers_on_my_zone(config_path):
    at = _page(ZONES)
    at.radio(key="zones_source").set_value("example")
    _button(at, "Build zones").click().run()
    _ok(at)
    table = _table(at, "Against target")
    assert table["Worker"].str.contains("fictional").all()
    assert table["FTE"].tolist() == ["1.0", "0.8", "0.6", "1.0", "1.0", "0.5"]
    at.text_input(key="zones_author").input("Test Lead").run()
    _button(at, "Save plan").click().run()
    _ok(at)

    at = _page(MY_ZONE)
    worker = at.selectbox(key="my_zone_worker")
    assert len(worker.options) == 6 and worker.options[3] == "Dev Madeup (fictional) (zone 4)"
    worker.set_value(4).run()
    _ok(at)
    areas = _table(at, "Flag")
    plan = PlanStore(load_config(config_path).plans_db).latest_plan()
    assert set(areas["Code"]) == set(plan.areas.loc[plan.areas["zone"] == 4, "area_code"])
    assert "E01005340" in set(areas["Code"])  # Dev's base
    # The zone map marks Dev's base and the zone's flagged areas, explained in its legend.
    script = json.loads(next(c for c in at.get("component_instance") if c.proto.component_name
                             .endswith("st_folium")).proto.json_args)["script"]
    assert "Base of Dev Madeup (fictional)" in script and "worker base" in script
    assert [m.label for m in at.metric] == ["Areas", "Children", "Workload against target",
                                            "Off the radar / to watch"]
    assert at.metric[0].value == str(len(areas))
    # The flagged list and the count above it agree (they used to differ).
    strong, watch = (int(n) for n in at.metric[3].value.split(" / "))
    listed = [m for m in at.markdown if m.value.startswith("- **")]
    assert strong + watch == len(listed)
    assert at.radio(key="my_zone_measure").value == "idaci_pctile"
    assert len(at.get("download_button")) == 1
    for measure in ("reach_rate", "referral_rate"):
        at.radio(key="my_zone_measure").set_value(measure).run()
        _ok(at)


def test_a_plan_from_other_boundaries_is_explained(config_path, tmp_path):
    other = write_config(tmp_path)
    shutil.copytree(load_config(config_path).snapshots_folder,
                    load_config(other).snapshots_folder)
    PlanStore(load_config(other).plans_db).save_plan(
        pd.DataFrame({"area_code": ["E01999999"], "zone": [1]}), author="x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEEDMAP_CONFIG", str(other))
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page(MY_ZONE).run()
    assert not at.exception
    assert any("made from other boundaries" in e.value for e in at.error)


def test_every_zone_outside_the_tolerance_is_named(config_path):
    """The balance warning named one zone ("Zone 1 is -10.0% ...") when three more were outside
    +-5%, and the page had no tolerance control; the CLI warned the same way."""
    from tests.conftest import cli

    at = _page(ZONES)
    at.radio(key="zones_level").set_value("ward")
    at.number_input(key="zones_tolerance").set_value(1)
    _button(at, "Build zones").click().run()
    _ok(at)
    table = _table(at, "Against target")
    outside = [z for z, v in zip(table["Zone"], _number(table["Against target"]), strict=True)
               if abs(v) > 1]
    assert len(outside) >= 2  # 20 wards cannot make six zones within 1%
    notes = [w.value for w in at.warning if "outside ±1%" in w.value]
    assert len(notes) == 1 and f"{len(outside)} of 6 zones" in notes[0]
    assert all(f"zone {z} (" in notes[0] for z in outside)
    assert "random_state" not in " ".join(w.value for w in at.warning)

    run = cli("zones", "--config", config_path, "--level", "ward", "--staff", "6",
              "--tolerance", "0.01", "--out", Path(config_path).parent / "z.csv")
    assert run.returncode == 0
    warning = next(line for line in run.stderr.splitlines() if "tolerance" in line)
    assert all(f"zone {z} " in warning for z in outside), warning
