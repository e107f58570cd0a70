"""The Overview and Data pages through Streamlit's AppTest, on a temporary copy of the demo.

The map is a custom component that AppTest cannot draw, but its arguments hold the map script, so
the GeoJSON features (one per area, with the shown value as text) are read from there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import write_config
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "needmap" / "app" / "pages"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    """A demo config with no snapshot yet: the first page run builds it, as the app does."""
    path = write_config(tmp_path_factory.mktemp("app"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEEDMAP_CONFIG", str(path))
        yield path


@pytest.fixture(scope="module")
def snapshot(config_path):
    from needmap.config import load_config
    from needmap.snapshot import latest_path, load_snapshot

    _run("overview.py")  # builds the first snapshot if no test has yet
    return load_snapshot(latest_path(load_config(config_path).snapshots_folder))


def _run(page: str, **session) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _map_script(at: AppTest, index: int = 0) -> str:
    maps = [c for c in at.get("component_instance")
            if c.proto.component_name.endswith("st_folium")]  # fmt: skip
    return json.loads(maps[index].proto.json_args)["script"]


def _features(at: AppTest, index: int = 0) -> list[dict]:
    """The ``properties`` of every area drawn on a page's map (they hold no nested objects).

    Pattern overlays (hatched or striped areas) carry no area code and are left out."""
    found = re.findall(r'"properties": (\{[^{}]*\})', _map_script(at, index))
    props = [json.loads(p) for p in found]
    return [p for p in props if any(k.endswith("_code") for k in p)]


def test_overview_first_run_builds_the_snapshot_and_shows_every_widget(config_path):
    at = _ok(_run("overview.py"))
    from needmap.config import load_config
    from needmap.snapshot import load_snapshot

    n_lsoas = len(load_snapshot(load_config(config_path).snapshots_folder).lsoa)
    assert at.title[0].value == "Oldham: need, referrals and reach"
    assert "demo: no sign-in, synthetic records" in at.info[0].value

    geography = at.radio(key="level")
    assert geography.label == "Geography"
    assert geography.options == ["LSOA (neighbourhood)", "Ward"]
    assert geography.value == "lsoa"
    assert at.selectbox(key="measure").label == "Measure"
    assert at.selectbox(key="measure").value == "referral_rate"
    assert at.selectbox(key="scheme").label == "Classes by"
    assert at.selectbox(key="scheme").value == "quantiles"
    classes = at.slider(key="k")
    assert (classes.label, classes.value, classes.min, classes.max) == ("Classes", 5, 3, 9)

    # Only the open tab's map is sent: the need x engagement map waits for its tab.
    maps = [c for c in at.get("component_instance")
            if c.proto.component_name.endswith("st_folium")]  # fmt: skip
    assert len(maps) == 1
    features = _features(at)
    assert len(features) == n_lsoas
    assert len({f["lsoa_code"] for f in features}) == n_lsoas
    assert all(f["lsoa_code"].startswith("E01") for f in features)
    assert any("Click an area" in i.value for i in at.info)
    # Every area can be reached without the map: the picker lists each one, by name and code.
    picker = at.selectbox(key="pick_lsoa")
    assert picker.label == "Find an area" and picker.value is None
    assert len(picker.options) == n_lsoas
    assert all(re.fullmatch(r".+ \(E01\d{6}\)", o) for o in picker.options)


def test_overview_map_carries_the_snapshot_values(snapshot):
    from needmap.outputs.tables import area_table

    at = _ok(_run("overview.py"))
    shown = {f["lsoa_code"]: f["value"] for f in _features(at)}
    table = area_table(snapshot, "lsoa")
    lsoa = table.data.set_index("lsoa_code")
    big = lsoa[lsoa["referrals"] > 20].index[:5]
    assert len(big) == 5
    for code in big:
        assert shown[code] == f"{lsoa.loc[code, 'referral_rate']:,.1f}"
    # A rate on a hidden count is disclosive and must not be drawn.
    hidden = lsoa.index[table.hidden["referral_rate"].to_numpy()]
    for code in hidden:
        assert not re.fullmatch(r"[\d,.]+", shown[code]), (code, shown[code])


def test_overview_reruns_when_level_measure_scheme_and_classes_change(snapshot):
    at = _ok(_run("overview.py"))
    at.radio(key="level").set_value("ward").run()
    _ok(at)
    features = _features(at)
    n_wards = len(snapshot.ward)
    assert len(features) == n_wards
    assert {f["ward_code"] for f in features} == set(snapshot.ward["ward_code"])

    for measure in ["idaci_pctile", "reach_rate", "referrals", "nfa_share", "children"]:
        at.selectbox(key="measure").set_value(measure).run()
        _ok(at)
        assert len(_features(at)) == n_wards

    at.selectbox(key="measure").set_value("children").run()
    for scheme in ["natural_breaks", "equal_interval", "quantiles"]:
        for k in (3, 7):
            at.selectbox(key="scheme").set_value(scheme).run()
            at.slider(key="k").set_value(k).run()
            _ok(at)
            # Children are never suppressed, so every ward falls in one of at most k classes.
            classes = {f["class"] for f in _features(at)}
            assert 2 <= len(classes) <= k, (scheme, k, classes)

    at.radio(key="level").set_value("lsoa").run()
    assert len(_features(_ok(at))) == len(snapshot.lsoa)


def test_change_compares_two_published_periods_and_never_overlapping_spans(snapshot):
    from needmap.outputs.tables import area_table

    at = _ok(_run("overview.py"))
    at.selectbox(key="measure").set_value("change").run()
    _ok(at)
    # Financial years by default: the last year against the one before.
    assert at.radio(key="change_kind").value == "year"
    years = snapshot.periods.loc[snapshot.periods["kind"] == "year", "period"].tolist()
    assert at.selectbox(key="before_year").value == years[-2]
    assert at.selectbox(key="after_year").value == years[-1]
    at.radio(key="change_kind").set_value("quarter").run()
    before = at.selectbox(key="before_quarter")
    after = at.selectbox(key="after_quarter")
    # Only whole published quarters, and "after" only offers quarters after "before".
    assert before.options == snapshot.quarters()[:-1]
    assert all(q > before.value for q in after.options)
    at.selectbox(key="change_measure").set_value("referrals").run()
    _ok(at)
    assert "Change in referrals" in _map_script(at)
    b, a = at.selectbox(key="before_quarter").value, at.selectbox(key="after_quarter").value
    old = area_table(snapshot, "lsoa", b).data.set_index("lsoa_code")["referrals"]
    new = area_table(snapshot, "lsoa", a).data.set_index("lsoa_code")["referrals"]
    shown = {f["lsoa_code"]: f["value"] for f in _features(at)}
    both = old.notna() & new.notna()
    assert both.sum() >= 10
    for code in both[both].index[:10]:
        assert float(shown[code].replace(",", "")) == pytest.approx(new[code] - old[code])
    for code in both[~both].index:
        assert shown[code] == "suppressed"
    at.radio(key="level").set_value("ward").run()
    _ok(at)
    assert len(_features(at)) == len(snapshot.ward)


def test_clicked_area_shows_its_detail_panel(snapshot):
    row = snapshot.lsoa.iloc[0]
    at = _ok(_run("overview.py", selected_lsoa=row["lsoa_code"]))
    title = at.subheader[0].value
    assert title.startswith(f"{row['lsoa_name']} ({row['lsoa_code']})")
    assert f"{row['ward_name']} ward" in title
    # England's column sits beside the authority's in a table that wraps (never scrolls).
    figures = at.table[0].value
    assert list(figures.columns) == ["Measure", "This area", "Oldham", "England"]
    assert figures.loc[figures["Measure"] == "Children", "This area"].item() == (
        f"{row['children']:,.0f}"
    )

    # Picking an area in the list is the same selection as a click, and marks it on the map.
    other = snapshot.lsoa.iloc[1]
    at.selectbox(key="pick_lsoa").set_value(other["lsoa_code"]).run()
    assert _ok(at).subheader[0].value.startswith(f"{other['lsoa_name']} ({other['lsoa_code']})")
    comp = next(c for c in at.get("component_instance")
                if c.proto.component_name.endswith("st_folium"))
    assert other["lsoa_code"] in json.loads(comp.proto.json_args)["feature_group"]

    ward = snapshot.ward.iloc[0]
    at.radio(key="level").set_value("ward").run()
    assert any("Click an area" in i.value for i in _ok(at).info)
    at.session_state["selected_ward"] = ward["ward_code"]
    at.run()
    assert _ok(at).subheader[0].value == f"{ward['ward_name']} ({ward['ward_code']})"


def test_data_page_shows_snapshot_history_and_data_quality(snapshot):
    at = _ok(_run("data.py"))
    headings = [s.value for s in at.subheader]
    assert headings[:2] == ["Snapshots", "Data quality of the current snapshot"]
    history = at.dataframe[0].value
    assert len(history) == 1
    assert history["Snapshot"].item() == snapshot.id
    assert history["Current"].item() == "yes"
    assert (history["LSOAs"].item(), history["Wards"].item()) == (f"{len(snapshot.lsoa):,}",
                                                                    f"{len(snapshot.ward):,}")
    quality = at.dataframe[1].value
    assert sorted(quality["Kind"]) == ["Engagement", "Referrals"]
    number = lambda col: quality[col].str.replace(",", "").astype(int)  # noqa: E731
    assert (number("Rows read") == number("Used") + number("Rejected")).all()
    assert (number("Used") > 1000).all()
    assert "Referral and engagement records are SYNTHETIC" in "".join(
        m.value for m in at.markdown
    )
