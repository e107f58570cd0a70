"""Accessibility (WCAG 2.2 AA, as the Public Sector Bodies Accessibility Regulations require):
axe-core on every page and tab and inside every map frame, and every area's detail reached with
the keyboard alone.

axe-core 4.14.1 is vendored in tests/vendor/axe-core (never fetched at test time) and injected by
Playwright into the page and into each frame, run with ``iframes: false`` so each document is
judged on its own. One server and one browser serve the module. The figures per page are written
to tests/screenshots/axe.json (git-ignored) and printed (``pytest -s``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit_server import CHROMIUM, settle, shown_maps

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "tests" / "screenshots"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def page(browser):
    return browser.new_page(viewport={"width": 1440, "height": 900})


def axe(frame) -> list[dict]:
    """axe-core's violations of the WCAG 2.2 AA rules in one document."""
    if not frame.evaluate("() => !!window.axe"):
        frame.evaluate(AXE.read_text(encoding="utf-8"))
    result = frame.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: false})",
        TAGS,
    )
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]),
             "where": v["nodes"][0]["target"], "why": v["nodes"][0]["failureSummary"][:300]}
            for v in result["violations"]]


def _visit(page, url: str, action) -> None:
    page.goto(url)
    settle(page)
    if action:
        action(page)
        settle(page)


def _tab(name: str):
    return lambda page: page.get_by_role("tab", name=name).click()


def _pick(code: str):
    def act(page):
        page.get_by_label("Find an area").click()
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=f"({code})", exact=False).wait_for(timeout=20_000)
    return act


def _build(page):
    page.get_by_role("button", name="Build zones").click()


def test_axe_finds_no_serious_violation_on_any_page_or_map_frame(app, page):
    url, snapshot = app
    code = str(snapshot.lsoa["lsoa_code"].iloc[0])
    visits = {
        "Overview (map)": ("", None, True),
        "Overview (area detail)": ("", _pick(code), True),
        "Overview (need x engagement)": ("", _tab("Need x engagement"), True),
        "Off the radar (ranked areas)": ("off_radar", None, False),
        "Off the radar (funnel plot)": ("off_radar", _tab("Funnel plot"), False),
        "Off the radar (flag map)": ("off_radar", _tab("Flag map"), True),
        "Off the radar (need x engagement)": ("off_radar", _tab("Need x engagement"), True),
        "Zones (built)": ("zones", _build, True),
        "My zone": ("my_zone", None, True),
        "Data": ("data", None, False),
    }
    figures: dict[str, dict] = {}
    blocking: dict[str, list] = {}
    for name, (path, action, has_map) in visits.items():
        _visit(page, f"{url}/{path}", action)
        documents = [("page", page.main_frame)]
        if has_map:
            documents += [(f"map {i + 1}", frame)
                          for i, (_, frame) in enumerate(shown_maps(page))]
        for where, frame in documents:
            found = axe(frame)
            key = f"{name}: {where}"
            figures[key] = {impact: sum(v["nodes"] for v in found if v["impact"] == impact)
                            for impact in ("minor", "moderate", "serious", "critical")}
            figures[key]["rules"] = sorted({v["id"] for v in found})
            figures[key]["passed"] = frame.evaluate(
                "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                "iframes: false}).then(r => r.passes.length)", TAGS)
            bad = [v for v in found if v["impact"] in BLOCKING]
            if bad:
                blocking[key] = bad
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "axe.json").write_text(json.dumps(figures, indent=1))
    for key, counts in figures.items():
        print(f"{key}: {counts}")
    assert len(figures) >= 17  # ten pages and tabs, seven map frames
    assert all(f["passed"] >= 5 for f in figures.values()), figures  # axe did run the rules
    assert blocking == {}, json.dumps(blocking, indent=1)


def test_every_area_detail_is_reached_with_the_keyboard_alone(app, page):
    """Map areas are not focusable; the area picker beside the map gives the same selection."""
    url, snapshot = app
    page.goto(url)
    settle(page)
    picker = page.get_by_label("Find an area").element_handle()
    for _ in range(80):  # Tab through the page until the picker has the focus
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", picker):
            break
    else:
        pytest.fail("Tab never reaches the area picker")
    area = snapshot.lsoa.sort_values("lsoa_name").iloc[len(snapshot.lsoa) // 2]
    page.keyboard.type(str(area["lsoa_name"]))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=f"{area['lsoa_name']} ({area['lsoa_code']})",
                     exact=False).wait_for(timeout=20_000)
    settle(page)
    # The same selection as a click: the area is marked on the map.
    _, frame = shown_maps(page)[0]
    frame.wait_for_function("(code) => window.needmapSelected === code",
                            arg=str(area["lsoa_code"]), timeout=10_000)
