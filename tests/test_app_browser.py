"""The real app (`streamlit run app.py`) in headless Chromium, as its users see it (issue 15).

One server and one browser serve the whole module, on a temporary copy of the demo config whose
snapshot is built first. Each test opens its own page at the window size it is about: a laptop
(1366x768), a desktop (1440x900) and a phone (390x844). What is checked is what a browser shows
and only a browser can: every map on every tab fits its areas (Leaflet's own bounds against the
authority's) with no legend over any area's centroid, a first click on the Overview map opens
the detail panel, the selected area is marked, the trend chart has a real axis, no table shows a
raw column name, and no request leaves the machine. Screenshots of every page at the three sizes
go to tests/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit_server import (
    CHROMIUM,
    is_local,
    settle,
    shown_maps,
)

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "screenshots"
SIZES = {"laptop": (1366, 768), "desktop": (1440, 900), "phone": (390, 844)}
#: A column name as code writes it (snake_case), or pandas' placeholder for a missing one.
RAW_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$|^None$|^nan$|^Unnamed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def requests() -> list[str]:
    return []


def _open(browser, requests, url: str, size: str):
    page = browser.new_page(viewport=dict(zip(("width", "height"), SIZES[size], strict=True)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(url)
    settle(page)
    return page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")


#: Leaflet's view of a map: its bounds, its areas' bounds and centroids, the legend's box.
MAP_STATE = """() => {
    const m = window.map, c = m.getContainer().getBoundingClientRect();
    const areas = [];
    m.eachLayer(l => {
        if (l.feature && l._path && l.options.interactive !== false && l.getBounds) areas.push(l);
    });
    let box = null;
    areas.forEach(l => { box = box ? box.extend(l.getBounds()) : L.latLngBounds(
        l.getBounds().getSouthWest(), l.getBounds().getNorthEast()); });
    const legend = m.getContainer().querySelector('.needmap-control');
    const r = legend ? legend.getBoundingClientRect() : null;
    const covered = [];
    areas.forEach(l => {
        const p = m.latLngToContainerPoint(l.getCenter());
        const x = p.x + c.left, y = p.y + c.top;
        if (r && x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) {
            covered.push(l.feature.id);
        }
    });
    const b = m.getBounds();
    return {n: areas.length, size: [c.width, c.height], legend: !!legend, covered: covered,
            map: [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()],
            areas: [box.getSouth(), box.getWest(), box.getNorth(), box.getEast()]};
}"""


def check_map(handle, frame, *, n: int | None = None, bounds=None) -> dict:
    """A drawn map fits its areas, fills its frame and shows no legend over an area's centroid.

    ``bounds`` (south, west, north, east) are the authority's, for a map of the whole authority.
    """
    handle.scroll_into_view_if_needed()  # a frame off screen is not laid out by Chromium
    state, previous, steady = None, None, 0
    for _ in range(30):  # until the view holds for 1.2 s (the fit follows the frame's size)
        frame.page.wait_for_timeout(400)
        state = frame.evaluate(MAP_STATE)
        steady = steady + 1 if previous is not None and state["map"] == previous["map"] else 0
        if steady == 3:
            break
        previous = state
    (s, w, no, e), (as_, aw, an, ae) = state["map"], state["areas"]
    if n is not None:
        assert state["n"] == n, state
    assert s <= as_ + 1e-6 and w <= aw + 1e-6 and no >= an - 1e-6 and e >= ae - 1e-6, (
        f"the map does not show all its areas: {state}")
    # Not the world-zoom map of a frame fitted while hidden (there the areas fill 0.1% of the
    # map): they fill a good part of one side, the rest being the legend beside them.
    fill = max((an - as_) / (no - s), (ae - aw) / (e - w))
    assert fill > 0.4, f"the areas fill {fill:.0%} of the map: {state}"
    if bounds is not None:
        assert all(abs(a - b) < 0.003 for a, b in zip(state["areas"], bounds, strict=True)), (
            state["areas"], bounds)
    assert state["legend"], "the map has no legend"
    assert state["covered"] == [], f"the legend covers the centroids of {state['covered']}"
    return state


def check_tooltip_fits(page, handle, frame) -> None:
    """Hover the area just right of the middle, the one furthest right and the one furthest left:
    each tooltip stays inside the frame (long ones were cut off on the left for areas right of
    centre)."""
    box = handle.bounding_box()
    for where in ("centre", "right", "left"):
        spot = frame.evaluate("""(where) => {
            const mid = window.map.getSize().x / 2;
            const score = {centre: x => x > mid ? -(x - mid) : -Infinity, right: x => x,
                           left: x => -x}[where];
            let best = null;
            window.map.eachLayer(l => {
                if (!l.feature || !l._path || l.options.interactive === false) return;
                const r = l._path.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (document.elementFromPoint(x, y) !== l._path) return;
                if (!best || score(x) > score(best.x)) best = {x: x, y: y};
            });
            return best;
        }""", where)
        page.mouse.move(box["x"] + spot["x"], box["y"] + spot["y"])
        tip = frame.locator(".leaflet-tooltip")
        tip.wait_for(timeout=5_000)
        r = tip.bounding_box()  # in the page's coordinates
        assert r["x"] >= box["x"] - 1 and r["x"] + r["width"] <= box["x"] + box["width"] + 1, (
            where, r, box)
        page.mouse.move(1, 1)


def _authority_bounds(snapshot) -> list[float]:
    west, south, east, north = snapshot.ward.to_crs(4326).total_bounds
    return [south, west, north, east]


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    settle(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_map_on_every_tab_fits_and_no_legend_covers_an_area(app, browser, requests, size):
    """Flag map and Need x engagement were drawn at world zoom in a tab opened later; legends
    covered the east of the borough and a worker's zone."""
    url, snapshot = app
    authority = _authority_bounds(snapshot)
    n_lsoa, n_ward = len(snapshot.lsoa), len(snapshot.ward)
    page = _open(browser, requests, url, size)
    try:
        _shot(page, f"{size}_overview")
        handle, frame = shown_maps(page)[0]
        check_map(handle, frame, n=n_lsoa, bounds=authority)
        check_tooltip_fits(page, handle, frame)
        _shot(page, f"{size}_overview_map")
        _tab(page, "Need x engagement")
        handle, frame = shown_maps(page)[0]
        check_map(handle, frame, n=n_lsoa, bounds=authority)
        check_tooltip_fits(page, handle, frame)
        _shot(page, f"{size}_overview_need_x_engagement")

        page.goto(f"{url}/off_radar")
        settle(page)
        _shot(page, f"{size}_off_radar")
        for tab, name in (("Flag map", "flag_map"), ("Need x engagement", "need_x_engagement")):
            _tab(page, tab)
            check_map(*shown_maps(page)[0], n=n_lsoa, bounds=authority)
            _shot(page, f"{size}_off_radar_{name}")
        _tab(page, "Funnel plot")
        _shot(page, f"{size}_off_radar_funnel")
        if size == "desktop":  # the ward level, once
            page.get_by_text("Ward", exact=True).click()
            settle(page)
            _tab(page, "Flag map")
            check_map(*shown_maps(page)[0], n=n_ward, bounds=authority)

        page.goto(f"{url}/zones")
        settle(page)
        page.get_by_role("button", name="Build zones").click()
        settle(page)
        check_map(*shown_maps(page)[0], n=n_lsoa, bounds=authority)
        _shot(page, f"{size}_zones")

        # No plan is saved: a lead's My zone shows the suggested plan's zone 1.
        page.goto(f"{url}/my_zone")
        settle(page)
        _shot(page, f"{size}_my_zone")
        state = check_map(*shown_maps(page)[0])
        assert 0 < state["n"] < n_lsoa
        _shot(page, f"{size}_my_zone_map")

        page.goto(f"{url}/data")
        settle(page)
        _shot(page, f"{size}_data")
    finally:
        page.close()


def _clickable_area(frame, bottom: float) -> dict | None:
    """An area whose centre is on screen (above ``bottom`` in the frame) and on top there."""
    return frame.evaluate(
        """(bottom) => {
        const found = [];
        window.map.eachLayer(l => {
            if (!l.feature || !l._path || l.options.interactive === false) return;
            const r = l._path.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (r.width > 12 && y > 40 && y < bottom
                    && document.elementFromPoint(x, y) === l._path) {
                found.push({x: x, y: y, code: l.feature.id, name: l.feature.properties.lsoa_name});
            }
        });
        found.sort((a, b) => b.y - a.y);  // the lowest: the press that used to scroll the page
        return found.length ? found[0] : null;
    }""",
        bottom,
    )


@pytest.mark.parametrize("size", ["laptop", "desktop"])
def test_a_first_click_on_the_map_opens_the_detail_panel(app, browser, requests, size):
    """The first click used to scroll the page (Leaflet focused the map, the browser scrolled the
    frame into view) so the release landed elsewhere; only a second click worked."""
    url, _ = app
    page = _open(browser, requests, url, size)
    try:
        handle, frame = shown_maps(page)[0]
        box = handle.bounding_box()
        assert box["y"] + box["height"] > SIZES[size][1], "the map should run below the window"
        area = _clickable_area(frame, SIZES[size][1] - box["y"] - 5)
        assert area is not None
        page.mouse.click(box["x"] + area["x"], box["y"] + area["y"])
        heading = page.get_by_role("heading", name=f"{area['name']} ({area['code']})",
                                   exact=False)
        heading.wait_for(timeout=20_000)
        settle(page)
        # The area is marked on the map, and the picker beside it names it.
        frame.wait_for_function("(code) => window.needmapSelected === code", arg=area["code"],
                                timeout=10_000)
        outline = frame.evaluate("""() => [...document.querySelectorAll('path')].filter(p =>
            p.getAttribute('stroke') === '#000000' && p.getAttribute('stroke-width') === '4'
        ).length""")
        assert outline >= 1
        picker = page.get_by_label("Find an area")
        shown = picker.input_value() + (picker.get_attribute("placeholder") or "") + (
            page.locator("[data-testid=stSelectbox]").filter(has_text="Find an area")
            .text_content() or "")
        assert area["code"] in shown, shown
        _shot(page, f"{size}_overview_clicked")
    finally:
        page.close()


def test_detail_panel_trend_and_schools_at_a_small_area(app, browser, requests):
    """The trend chart of a small area was flat with one axis label "0.000000"."""
    from needmap.outputs.profile import area_profile

    url, snapshot = app
    small = snapshot.lsoa.sort_values("children").iloc[0]
    assert not area_profile(snapshot, "lsoa", str(small["lsoa_code"])).trend_drawable
    page = _open(browser, requests, url, "desktop")
    try:
        picker = page.get_by_label("Find an area")
        picker.click()
        page.keyboard.type(str(small["lsoa_code"]))
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=f"({small['lsoa_code']})", exact=False).wait_for(
            timeout=20_000)
        settle(page)
        # England's figures sit beside the authority's, in a table that does not scroll.
        figures = page.locator("[data-testid=stTable] table").first
        headers = figures.locator("thead th").all_inner_texts()
        assert headers == ["Measure", "This area", snapshot.authority_name, "England"], headers
        england = figures.locator("thead th").last.bounding_box()
        assert england["x"] + england["width"] <= SIZES["desktop"][0]
        # Every quarter here is 0 or hidden: the counts are listed, not drawn as a flat line.
        assert page.locator(".vega-embed").count() == 0
        assert page.get_by_text("Too few for a trend line", exact=False).count() == 1
        assert "Quarter" in _headers(page)
        assert page.get_by_text("Schools in", exact=False).count() >= 1
        _shot(page, "desktop_overview_small_area")
        # A larger area has a drawn trend, on a real axis.
        big = snapshot.lsoa.sort_values("children").iloc[-1]
        page.get_by_label("Find an area").click()
        page.keyboard.type(str(big["lsoa_code"]))
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=f"({big['lsoa_code']})", exact=False).wait_for(
            timeout=20_000)
        settle(page)
        axes = page.locator(".vega-embed [aria-label*='-axis titled']")
        axes.first.wait_for(timeout=20_000)
        labels = axes.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
        y = next(a for a in labels if a.startswith("Y-axis"))
        assert "Per 1,000" in y
        top = float(re.search(r"values from [\d.]+ to ([\d.,]+)", y).group(1).replace(",", ""))
        assert top >= 10, y
        x = next(a for a in labels if a.startswith("X-axis"))
        assert "Quarter" in x
        ticks = page.locator(".vega-embed text").evaluate_all("els => els.map(e => e.textContent)")
        assert not any(re.fullmatch(r"\d+\.\d{4,}", t) for t in ticks), ticks
        legend = " ".join(ticks)
        assert "Referrals" in legend and "reach_rate" not in legend and "series" not in legend
        _shot(page, "desktop_overview_large_area")
    finally:
        page.close()


def _headers(page) -> list[str]:
    """Every table header on the page. st.dataframe draws on a canvas and mirrors its cells in
    an accessible grid, built once the table is on screen."""
    headers = []
    # Tables in a folded expander are drawn only when it opens: open every one first.
    for summary in page.locator("[data-testid=stExpander] details:not([open]) > summary").all():
        summary.click()
    if page.locator("[data-testid=stExpander]").count():
        settle(page)
    for table in page.locator("[data-testid=stDataFrame]").all():
        table.scroll_into_view_if_needed()
        cells = table.locator("[role=columnheader]")
        cells.first.wait_for(state="attached", timeout=10_000)
        headers += [t.strip() for t in cells.all_inner_texts()]
    return headers


def test_no_table_header_is_a_raw_column_name(app, browser, requests):
    url, snapshot = app
    page = _open(browser, requests, url, "desktop")
    seen: dict[str, list[str]] = {}
    try:
        code = str(snapshot.lsoa["lsoa_code"].iloc[0])
        page.get_by_label("Find an area").click()
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=f"({code})", exact=False).wait_for(timeout=20_000)
        settle(page)
        seen["overview"] = _headers(page) + page.locator("table th").all_inner_texts()
        assert "Measure" in seen["overview"]
        page.goto(f"{url}/off_radar")
        settle(page)
        seen["off_radar"] = _headers(page)
        page.goto(f"{url}/zones")
        settle(page)
        page.get_by_role("button", name="Build zones").click()
        settle(page)
        page.get_by_label("Your name (recorded with a save or a restore)").fill("Browser Test")
        page.keyboard.press("Enter")
        settle(page)
        page.get_by_role("button", name="Save plan").click()
        settle(page)
        page.get_by_text("Saved as plan", exact=False).wait_for(timeout=20_000)
        page.locator("[data-testid=stDataFrame]").nth(1).wait_for(timeout=20_000)
        seen["zones"] = _headers(page)
        page.goto(f"{url}/my_zone")
        settle(page)
        seen["my_zone"] = _headers(page)
        page.goto(f"{url}/data")
        settle(page)
        seen["data"] = _headers(page)
    finally:
        page.close()
    for name, headers in seen.items():
        assert headers, f"no table found on {name}"
        raw = [h for h in headers if RAW_NAME.search(h)]
        assert raw == [], f"{name} shows raw column names {raw}"
    assert "Restored from plan" in seen["zones"] and "Against target" in seen["zones"], (
        " | ".join(seen["zones"]))
    assert "Why" in seen["off_radar"]


def test_no_request_left_the_machine(requests):
    assert requests, "the other tests made no request"
    assert any("/component/needmap.app.offline.assets/" in u for u in requests)
    assert [u for u in requests if not is_local(u)] == []
