"""The real app (`streamlit run app.py`) in headless Chromium: the Overview map drawn, a click
answered by the detail panel, the ward level, and no request leaving the machine.

One server and one browser page serve the whole module, on a temporary copy of the demo config
(the first page load builds its snapshot). The tests run in file order and share the page; the
last one checks every request the session made.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config
from streamlit_server import CHROMIUM, chromium_browser, is_local, streamlit_app

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "screenshots"

N_LSOAS, N_WARDS = 142, 20  # Oldham: LSOA 2021 and wards (PROVENANCE: 142 LSOAs, 20 wards)
MAP = "iframe[title*='st_folium']"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app-browser")
    env = {"NEEDMAP_CONFIG": str(write_config(tmp))}
    with streamlit_app("app.py", env=env, log_path=tmp / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def session(server):
    """One browser page on the app, and every URL it requested (HTTP and websocket)."""
    pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.goto(server)
        yield page, requests


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)


def _map_frame(page):
    """The st_folium frame of the Map tab (the first map on the page)."""
    page.wait_for_selector(MAP, timeout=30_000)
    handle = page.locator(MAP).first.element_handle()
    return handle.content_frame()


def _areas_drawn(frame, level: str) -> int:
    """Polygons Leaflet drew for areas of ``level`` (the authority outline carries no code)."""
    return frame.evaluate(
        """(key) => {
        let n = 0;
        window.map_div.eachLayer(l => {
            if (l._path && l.feature && (l.feature.properties || {})[key]) n += 1;
        });
        return n;
    }""",
        f"{level}_code",
    )


def _clickable_area(frame, level: str) -> dict | None:
    """The centre of an area whose polygon is the topmost element there, with its code and name."""
    return frame.evaluate(
        """(level) => {
        const layers = [];
        window.map_div.eachLayer(l => { if (l.feature && l._path) layers.push(l); });
        for (const l of layers) {
            const r = l._path.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (r.width > 12 && document.elementFromPoint(x, y) === l._path) {
                const p = l.feature.properties;
                return {x: x, y: y, code: p[level + "_code"], name: p[level + "_name"]};
            }
        }
        return null;
    }""",
        level,
    )


def test_overview_draws_every_lsoa(session):
    page, _ = session
    frame = _map_frame(page)
    polygons = page.frame_locator(MAP).first.locator("path.leaflet-interactive")
    polygons.first.wait_for(timeout=60_000)
    assert polygons.count() == N_LSOAS
    assert _areas_drawn(frame, "lsoa") == N_LSOAS
    assert page.get_by_text("Click an area on the map").count() == 1
    _shot(page, "app_overview_lsoa.png")


def test_click_on_an_area_opens_its_detail_panel(session):
    page, _ = session
    page.locator(MAP).first.scroll_into_view_if_needed()
    frame = _map_frame(page)
    area = _clickable_area(frame, "lsoa")
    assert area is not None and area["code"].startswith("E01")
    box = page.locator(MAP).first.bounding_box()
    page.mouse.click(box["x"] + area["x"], box["y"] + area["y"])

    heading = page.get_by_role("heading", name=f"{area['name']} ({area['code']})", exact=False)
    heading.wait_for(timeout=20_000)
    assert "ward" in heading.inner_text()
    # st.dataframe draws on a canvas; its cells are mirrored in a hidden accessible grid.
    cell = page.locator("[role=gridcell]", has_text="Children")
    cell.first.wait_for(state="attached", timeout=10_000)
    assert page.get_by_text("Quarter by quarter").count() == 1
    _shot(page, "app_overview_clicked.png")


def test_ward_level_draws_twenty_wards(session):
    page, _ = session
    page.get_by_text("Ward", exact=True).click()
    page.wait_for_function(
        """(n) => [...document.querySelectorAll("iframe[title*='st_folium']")].some(f => {
            try { return f.contentDocument.querySelectorAll('path.leaflet-interactive').length === n
                  && f.getBoundingClientRect().width > 0; } catch (e) { return false; }
        })""",
        arg=N_WARDS,
        timeout=30_000,
    )
    frame = _map_frame(page)
    assert _areas_drawn(frame, "ward") == N_WARDS
    assert page.frame_locator(MAP).first.locator("path.leaflet-interactive").count() == N_WARDS
    _shot(page, "app_overview_ward.png")


def test_need_engagement_tab_draws_its_own_map(session):
    page, _ = session
    page.get_by_role("tab", name="Need x engagement").click()
    page.wait_for_function(
        """(n) => [...document.querySelectorAll("iframe[title*='st_folium']")].some(f => {
            if (f.getBoundingClientRect().width === 0) return false;  // the hidden tab's map
            try { return f.contentDocument.querySelectorAll('path.leaflet-interactive').length === n
                  && f.contentDocument.body.innerText.includes('Need (IDACI'); }
            catch (e) { return false; }
        })""",
        arg=N_WARDS,
        timeout=30_000,
    )
    _shot(page, "app_overview_bivariate.png")


def test_no_request_left_the_machine(session):
    _, requests = session
    assert any("/component/needmap.app.offline.assets/" in u for u in requests)
    assert [u for u in requests if not is_local(u)] == []
