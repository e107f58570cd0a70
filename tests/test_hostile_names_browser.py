"""Area names from files cannot run script: boundaries named ``<img src=x onerror=alert(1)>``
and the like, drawn by the app and by ``needmap map`` in headless Chromium, open no dialog, inject
no element, and show the names as text; the CSV exports defuse formula-like names (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit_server import CHROMIUM, chromium_browser, streamlit_app

from needmap.config import load_config
from tests.conftest import cli, write_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]
ROOT = Path(__file__).resolve().parents[1]
MAP = "iframe[title*='st_folium']"
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "<script>alert(3)</script>",
    '=HYPERLINK("http://x")',
    "=1+1",
    "@SUM(1)",
    "+1+1",
    "-1+1",
]


def _hostile_copy(src: Path, name_column: str, out: Path) -> Path:
    """A copy of a boundary file (GeoParquet since the LSOA 2021 demo) with hostile names."""
    import geopandas as gpd

    data = gpd.read_parquet(src) if src.suffix == ".parquet" else gpd.read_file(src)
    data[name_column] = [f"{HOSTILE[i % len(HOSTILE)]} {i}" for i in range(len(data))]
    out = out.with_suffix(src.suffix)
    if src.suffix == ".parquet":
        data.to_parquet(out)
    else:
        data.to_file(out, driver="GeoJSON")
    return out


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    base = load_config(ROOT / "needmap.toml")
    wards = _hostile_copy(base.ward.path, base.ward.name_column, tmp / "wards.geojson")
    lsoa = _hostile_copy(base.lsoa.path, base.lsoa.name_column, tmp / "lsoa.geojson")
    cfg = write_config(tmp, a=f"{base.ward.path}=>{wards}", b=f"{base.lsoa.path}=>{lsoa}")
    assert cli("refresh", "--config", cfg, "--quiet").returncode == 0
    return cfg


_MAP = "(window.map_div || Object.values(window).find(v => v instanceof L.Map))"


def _hover_every_area(frame) -> int:
    """Open the tooltip of every area (Leaflet's own events), return how many opened."""
    return frame.evaluate("""() => {
        let n = 0;
        MAP.eachLayer(l => {
            if (l.feature && l._path) { l.fire('mouseover', {latlng: l.getBounds().getCenter()});
                                        l.fire('mouseout'); n += 1; }
        });
        return n;
    }""".replace("MAP", _MAP))


def _tooltip_text(page, frame, needle: str, offset=(0.0, 0.0)) -> str:
    """Move the real mouse onto the first area whose name holds ``needle``; the tooltip's text."""
    point = frame.evaluate("""(needle) => {
        const map = MAP;
        let found = null;
        map.eachLayer(l => {
            const p = l.feature && l._path && l.feature.properties;
            if (found === null && p && Object.values(p).some(v => String(v).includes(needle))) {
                const r = l._path.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (document.elementFromPoint(x, y) === l._path) found = {x: x, y: y};
            }
        });
        return found;
    }""".replace("MAP", _MAP), needle)
    assert point is not None, needle
    page.mouse.move(offset[0] + point["x"], offset[1] + point["y"])
    page.mouse.move(offset[0] + point["x"] + 1, offset[1] + point["y"] + 1)
    tip = frame.locator(".leaflet-tooltip").first
    tip.wait_for(timeout=10_000)
    return tip.text_content()


def _injected(frame) -> int:
    return frame.evaluate("() => document.querySelectorAll('img[src=x], svg[onload]').length")


def test_the_app_shows_hostile_names_as_text(config, tmp_path):
    dialogs: list[str] = []
    with streamlit_app("app.py", env={"NEEDMAP_CONFIG": str(config)},
                       log_path=tmp_path / "streamlit.log") as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        page.frame_locator(MAP).first.locator("path.leaflet-interactive").first.wait_for(
            timeout=60_000)
        frame = page.locator(MAP).first.element_handle().content_frame()
        assert _hover_every_area(frame) > 100
        assert _injected(frame) == 0 and dialogs == []
        # Shown as text: the tooltip reads the name as it is in the file.
        page.locator(MAP).first.scroll_into_view_if_needed()
        box = page.locator(MAP).first.bounding_box()
        text = _tooltip_text(page, frame, "onerror", (box["x"], box["y"]))
        assert "<img src=x onerror=alert(1)>" in text
        assert _injected(frame) == 0 and dialogs == []
        # The page around the map, its tables and the other tabs.
        page.get_by_role("tab", name="Need x engagement").click()
        page.wait_for_timeout(3000)
        for handle in page.locator(MAP).element_handles():
            inner = handle.content_frame()
            if inner is not None:
                _hover_every_area(inner)
                assert _injected(inner) == 0
        assert page.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
        assert dialogs == []


def test_needmap_map_html_shows_hostile_names_as_text(config, tmp_path):
    out = tmp_path / "map.html"
    assert cli("map", "--config", config, "--out", out).returncode == 0
    dialogs: list[str] = []
    with chromium_browser() as browser:
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(out.as_uri())
        page.locator("path.leaflet-interactive").first.wait_for(timeout=15_000)
        main = page.main_frame
        assert _hover_every_area(main) > 100
        assert "<img src=x onerror=alert(1)>" in _tooltip_text(page, main, "onerror")
        assert _injected(main) == 0 and dialogs == []


def test_csv_exports_defuse_formula_names(config, tmp_path):
    flags, zones = tmp_path / "flags.csv", tmp_path / "zones.csv"
    assert cli("flags", "--config", config, "--out", flags).returncode == 0
    assert cli("zones", "--config", config, "--staff", "4", "--out", zones).returncode == 0
    for path in (flags, zones):
        names = pd.read_csv(path, dtype=str)["area_name"]
        risky = names[names.str.contains("HYPERLINK|1\\+1|SUM")]
        assert len(risky) and risky.str.startswith("'").all(), path
        assert not names.str.match(r"^[=+\-@]").any()
