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
N_LSOAS, N_WARDS = 142, 20  # Oldham: LSOA 2021 and wards (PROVENANCE: 142 LSOAs, 20 wards)


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
    """The ``properties`` of every area drawn on a page's map (they hold no nested objects)."""
    found = re.findall(r'"properties": (\{[^{}]*\})', _map_script(at, index))
    return [json.loads(p) for p in found]


def test_overview_first_run_builds_the_snapshot_and_shows_every_widget(config_path):
    at = _ok(_run("overview.py"))
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
    assert len(features) == N_LSOAS
    assert len({f["lsoa_code"] for f in features}) == N_LSOAS
    assert all(f["lsoa_code"].startswith("E01") for f in features)
    assert any("Click an area" in i.value for i in at.info)


def test_overview_map_carries_the_snapshot_values(snapshot):
    at = _ok(_run("overview.py"))
    shown = {f["lsoa_code"]: f["value"] for f in _features(at)}
    lsoa = snapshot.lsoa.set_index("lsoa_code")
    big = lsoa[lsoa["referrals"] > 20].index[:5]
    assert len(big) == 5
    for code in big:
        assert shown[code] == f"{lsoa.loc[code, 'referral_rate']:,.1f}"
    # A rate on 1 to 5 referrals is disclosive and must not be drawn.
    for code in lsoa[lsoa["referrals"].between(1, 5)].index:
        assert not re.fullmatch(r"[\d,.]+", shown[code]), (code, shown[code])


def test_overview_reruns_when_level_measure_scheme_and_classes_change(snapshot):
    at = _ok(_run("overview.py"))
    at.radio(key="level").set_value("ward").run()
    _ok(at)
    features = _features(at)
    assert len(features) == N_WARDS
    assert {f["ward_code"] for f in features} == set(snapshot.ward["ward_code"])

    for measure in ["idaci_pctile", "reach_rate", "referrals", "nfa_share", "children"]:
        at.selectbox(key="measure").set_value(measure).run()
        _ok(at)
        assert len(_features(at)) == N_WARDS

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
    assert len(_features(_ok(at))) == N_LSOAS


def test_change_between_two_periods_maps_after_minus_before(snapshot):
    at = _ok(_run("overview.py"))
    at.selectbox(key="measure").set_value("change").run()
    _ok(at)
    # By default the last four quarters against the four before them.
    qs = at.select_slider(key="after").options
    before_span = at.select_slider(key="before").value
    after_span = at.select_slider(key="after").value
    assert after_span == (qs[-4], qs[-1])
    assert before_span == (qs[-8], qs[-5])
    at.selectbox(key="change_measure").set_value("referrals").run()
    _ok(at)
    assert "Change in referrals" in _map_script(at)

    q = snapshot.lsoa_quarterly.assign(quarter=lambda d: d["quarter"].astype(str))
    before = q[q["quarter"].between(*before_span)].groupby("lsoa_code")["referrals"].sum()
    after = q[q["quarter"].between(*after_span)].groupby("lsoa_code")["referrals"].sum()
    lsoa = snapshot.lsoa.set_index("lsoa_code")
    shown = {f["lsoa_code"]: f["value"] for f in _features(at)}
    checked = 0
    for code in lsoa[lsoa["referrals"] > 20].index[:10]:
        assert float(shown[code].replace(",", "")) == pytest.approx(after[code] - before[code])
        checked += 1
    assert checked == 10

    at.select_slider(key="before").set_value((qs[0], qs[0])).run()
    at.radio(key="level").set_value("ward").run()
    _ok(at)
    assert len(_features(at)) == N_WARDS


def test_clicked_area_shows_its_detail_panel(snapshot):
    row = snapshot.lsoa.iloc[0]
    at = _ok(_run("overview.py", selected_lsoa=row["lsoa_code"]))
    title = at.subheader[0].value
    assert title.startswith(f"{row['lsoa_name']} ({row['lsoa_code']})")
    assert f"{row['ward_name']} ward" in title
    figures = at.dataframe[0].value
    assert "Children aged 0-15" in set(figures["measure"])
    assert figures.loc[figures["measure"] == "Children aged 0-15", "area"].item() == (
        f"{row['children']:,.0f}"
    )

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
    assert history["snapshot_id"].item() == snapshot.id
    assert bool(history["current"].item())
    assert (history["n_lsoas"].item(), history["n_wards"].item()) == (N_LSOAS, N_WARDS)

    quality = at.dataframe[1].value
    assert sorted(quality["kind"]) == ["engagement", "referrals"]
    assert (quality["rows read"] == quality["used"] + quality["rejected"]).all()
    assert (quality["used"] > 1000).all()
    assert "Referral and engagement records are SYNTHETIC" in "".join(
        m.value for m in at.markdown
    )
