"""Map builders rendered to HTML and checked for what must and must not be in them."""

import json
import re
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
from branca.utilities import color_brewer

from needmap.config import load_config
from needmap.errors import InputError
from needmap.outputs.maps import assets, builders, classes
from needmap.outputs.maps.geometry import display_geometry

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTION = "Contains OS data © Crown copyright and database right 2025; ONS; synthetic records"
N = 142  # Oldham's LSOA 2021


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    src = load_config(ROOT / "needmap.toml").lsoa
    gdf = gpd.read_parquet(src.path).to_crs(27700)
    gdf = gdf.rename(columns={src.code_column: "lsoa_code", src.name_column: "lsoa_name"})
    gdf = gdf[["lsoa_code", "lsoa_name", "geometry"]].iloc[:N]
    rng = np.random.default_rng(3)
    gdf["rate"] = rng.gamma(2.0, 10.0, N).round(3)
    gdf["reach"] = rng.gamma(2.0, 5.0, N).round(3)
    gdf["families"] = rng.integers(0, 40, N)
    return display_geometry(gdf)


def _choropleth(gdf, **kw) -> folium.Map:
    args = dict(
        code_column="lsoa_code",
        name_column="lsoa_name",
        value_column="rate",
        value_label="Referrals per 1,000 children",
        attribution=ATTRIBUTION,
    )
    return builders.choropleth(gdf, **{**args, **kw})


def _features(m: folium.Map) -> list[dict]:
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    return layer.data["features"]


def _legend_counts(html: str) -> list[int]:
    legend = json.loads(re.search(r"div\.innerHTML = (\".*?\");", html).group(1))
    return [int(n) for n in re.findall(r"\((\d+)\)</span>", legend)]


def test_choropleth_html_has_legend_tooltip_attribution_and_no_tiles(areas):
    html = _choropleth(areas).get_root().render()
    assert "needmap-legend" in html and "Referrals per 1,000 children" in html
    assert "L.GeoJsonTooltip" in html or "bindTooltip" in html
    assert '"lsoa_name"' in html and '"value"' in html
    assert "L.tileLayer" not in html
    assert "attributionControl.addAttribution" in html
    assert "Contains OS data \\u00a9 Crown copyright" in html
    # Only the vendored Leaflet is linked; nothing from a CDN.
    links = re.findall(r'<script src="([^"]*)"|<link rel="stylesheet" href="([^"]*)"', html)
    assert sorted(u for pair in links for u in pair if u) == sorted(
        [assets.LOCAL_JS["leaflet"], assets.LOCAL_CSS["leaflet_css"]]
    )
    assert "fitBounds" in html


def test_quantile_classes_hold_equal_shares_and_codes_are_feature_ids(areas):
    m = _choropleth(areas, k=5)
    counts = _legend_counts(m.get_root().render())
    assert sum(counts) == N and max(counts) - min(counts) <= 1
    feats = _features(m)
    assert [f["id"] for f in feats] == list(areas["lsoa_code"])
    assert all(f["properties"]["lsoa_code"] == f["id"] for f in feats)


def test_darkest_colour_goes_to_the_largest_value(areas):
    m = _choropleth(areas, k=5)
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    top = areas["lsoa_code"].iloc[int(areas["rate"].argmax())]
    bottom = areas["lsoa_code"].iloc[int(areas["rate"].argmin())]
    palette = color_brewer("YlOrRd", 5)
    assert layer.style_function({"id": top})["fillColor"] == palette[-1]
    assert layer.style_function({"id": bottom})["fillColor"] == palette[0]


def test_suppressed_and_missing_are_grey_labelled_and_the_value_never_written(areas):
    gdf = areas.copy()
    gdf.loc[0, "rate"] = 4242.4242
    gdf.loc[1, "rate"] = np.nan
    mask = np.zeros(N, dtype=bool)
    mask[0] = True
    m = _choropleth(gdf, suppressed_mask=mask)
    html = m.get_root().render()
    assert "4,242" not in html and "4242.4" not in html
    feats = _features(m)
    assert feats[0]["properties"]["value"] == "suppressed"
    assert feats[1]["properties"]["value"] == "no data"
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    assert layer.style_function(feats[0])["fillColor"] == classes.SUPPRESSED_COLOUR
    assert layer.style_function(feats[1])["fillColor"] == classes.NO_DATA_COLOUR
    # Legend: five classes over the 139 shown areas, then one suppressed and one without data.
    assert _legend_counts(html)[-2:] == [1, 1]
    assert sum(_legend_counts(html)[:-2]) == N - 2
    assert "suppressed" in html and "no data" in html


def test_equal_interval_breaks_are_evenly_spaced(areas):
    m = _choropleth(areas, scheme="equal_interval", k=4)
    labels = [f["properties"]["class"] for f in _features(m)]
    assert len(set(labels)) <= 4
    lo, hi = areas["rate"].min(), areas["rate"].max()
    width = (hi - lo) / 4
    top = [f for f in _features(m) if f["properties"]["value"] == f"{hi:,.1f}"][0]
    # Escaped for Leaflet's innerHTML: the page shows "> 55.1 – 73.0".
    assert top["properties"]["class"] == f"&gt; {lo + 3 * width:,.1f} – {hi:,.1f}"


def test_natural_breaks_on_many_values_are_quick_and_deterministic():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(10, 1, 3000), rng.normal(50, 2, 3000)])
    a = classes.breaks(y, "natural_breaks", 2 + 1)
    b = classes.breaks(y, "natural_breaks", 3)
    assert np.array_equal(a, b) and len(a) == 3
    # The low cluster is one class: its largest value is the first break, below the high cluster.
    assert y[:3000].max() <= a[0] < y[3000:].min()
    assert a[-1] == y.max()


def test_few_distinct_values_give_fewer_classes(areas):
    gdf = areas.copy()
    gdf["rate"] = np.where(np.arange(N) % 2, 1.0, 2.0)
    counts = _legend_counts(_choropleth(gdf, k=5).get_root().render())
    assert counts == [N // 2, N - N // 2]  # 1.0 on odd rows, 2.0 on even rows


def test_outline_is_drawn_but_not_clickable(areas):
    m = _choropleth(areas, outline=areas.dissolve())
    html = m.get_root().render()
    assert html.count("L.geoJson(") == 2
    assert '"interactive": false' in html


def test_tiles_need_attribution_and_are_drawn_when_given(areas):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(InputError, match="tiles_attribution"):
        _choropleth(areas, tiles=url)
    html = _choropleth(areas, tiles=url, tiles_attribution="© Example").get_root().render()
    assert "L.tileLayer" in html and "tiles.example.org" in html


def test_bad_arguments_raise_input_error(areas):
    with pytest.raises(InputError, match="quantiles"):
        _choropleth(areas, scheme="jenks")
    with pytest.raises(InputError, match="not_there"):
        _choropleth(areas, value_column="not_there")
    with pytest.raises(InputError, match="one boolean per row"):
        _choropleth(areas, suppressed_mask=[True])
    with pytest.raises(InputError, match="attribution"):
        _choropleth(areas, attribution=" ")
    with pytest.raises(InputError, match="more than once"):
        _choropleth(areas.iloc[[0, 0, 1]])
    with pytest.raises(InputError, match="numeric"):
        _choropleth(areas.assign(rate="high"))


def test_bivariate_legend_and_tooltips(areas):
    m = builders.bivariate(
        areas,
        code_column="lsoa_code",
        name_column="lsoa_name",
        x_column="rate",
        y_column="reach",
        attribution=ATTRIBUTION,
    )
    html = m.get_root().render()
    assert html.count("needmap-bivariate-cell") == 9
    assert "Need" in html and "Engagement" in html
    feats = {f["id"]: f for f in _features(m)}
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    # Each tertile of need holds a third of the areas.
    need = [f["properties"]["class"].split(",")[0] for f in feats.values()]
    thirds = sorted([N // 3, N // 3, N - 2 * (N // 3)])
    assert sorted(need.count(f"Need: {t}") for t in classes.TERTILE_NAMES) == thirds
    # An area in the top need tertile and bottom engagement tertile is the red corner.
    x, y = areas["rate"], areas["reach"]
    corner = areas[(x > x.quantile(0.7)) & (y < y.quantile(0.3))]["lsoa_code"].iloc[0]
    assert feats[corner]["properties"]["class"] == "Need: high, Engagement: low"
    assert layer.style_function({"id": corner})["fillColor"] == classes.BIVARIATE_PALETTE[0][2]
    with pytest.raises(InputError, match="3 classes"):
        builders.bivariate(
            areas,
            code_column="lsoa_code",
            name_column="lsoa_name",
            x_column="rate",
            y_column="reach",
            attribution=ATTRIBUTION,
            k=4,
        )


_ALLOWED_URLS = {
    "http://www.w3.org/2000/svg",  # SVG namespace in leaflet.js, not a request
    "https://leafletjs.com",  # Leaflet's own attribution link
}


def test_standalone_html_inlines_everything(areas):
    m = _choropleth(areas, extra_tooltip_columns=["families"])
    page = assets.standalone_html(m)
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert "Leaflet 1.9.4" in page  # Leaflet itself is in the file
    assert "url(data:image/png;base64," in page
    # Remove comments; what is left may name only a namespace and Leaflet's credit link.
    code = re.sub(r"/\*.*?\*/|<!--.*?-->", "", page, flags=re.S)
    code = re.sub(r"(?m)^\s*//.*$", "", code)
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", code))
    assert urls <= _ALLOWED_URLS, urls - _ALLOWED_URLS
    # Nothing is fetched: no src from the web; the one web href is a link a person may click.
    fetched = re.findall(r"""(src|href)\s*=\s*\\?["'](https?://[^"'\\]*)""", code)
    assert set(fetched) <= {("href", "https://leafletjs.com")}, fetched


def test_standalone_drops_unused_folium_defaults_and_refuses_unvendored_plugins():
    plain = folium.Map(location=[53.5, -2.1], zoom_start=11, tiles=None)
    assert "jquery" not in assets.standalone_html(plain).lower().split("leaflet")[0]
    with_plugin = folium.Map(location=[53.5, -2.1], zoom_start=11, tiles=None)
    folium.plugins.Fullscreen().add_to(with_plugin)
    with pytest.raises(InputError, match="not vendored"):
        assets.standalone_html(with_plugin)


HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', "=HYPERLINK(\"http://x\")"]


def test_names_from_files_are_escaped_in_every_map(areas):
    """Leaflet tooltips and legends insert text with innerHTML: no markup from data survives."""
    gdf = areas.copy()
    gdf["lsoa_name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(gdf))]
    gdf["Ward"] = HOSTILE[0]
    maps_ = [
        _choropleth(gdf, extra_tooltip_columns=["Ward"]),
        builders.bivariate(gdf, code_column="lsoa_code", name_column="lsoa_name",
                           x_column="rate", y_column="reach", attribution=HOSTILE[1]),
        builders.categorical(gdf.assign(zone=[HOSTILE[i % 2] for i in range(len(gdf))]),
                             code_column="lsoa_code", name_column="lsoa_name",
                             category_column="zone", title=HOSTILE[0],
                             colours={HOSTILE[0]: "#ff0000", HOSTILE[1]: "#00ff00"},
                             attribution=ATTRIBUTION),
    ]
    for m in maps_:
        html = assets.standalone_html(m)
        assert "<img" not in html and "<script>alert" not in html
        assert "lt;img src=x onerror=alert(1)" in html  # shown as text, not run


def _legend(html: str) -> str:
    return json.loads(re.search(r"div\.innerHTML = (\".*?\");", html).group(1))


def test_bivariate_key_is_readable_and_its_salient_cell_stands_out(areas):
    """The 3x3 key had 15 px cells and called a mid red "dark red"; now 30 px cells counting
    their areas, and high need with low engagement is the darkest colour and hatched."""
    m = builders.bivariate(areas, code_column="lsoa_code", name_column="lsoa_name",
                           x_column="rate", y_column="reach", attribution=ATTRIBUTION)
    html = m.get_root().render()
    legend = _legend(html)
    sizes = [int(w) for w in re.findall(r"needmap-bivariate-cell.*?width:(\d+)px", legend)]
    assert len(sizes) == 9 and min(sizes) >= 24
    counts = [int(n) for n in re.findall(r"padding:0 2px;border-radius:2px\">(\d+)<", legend)]
    assert sum(counts) == N
    assert "High need, low engagement" in legend

    def luminance(colour: str) -> float:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    yc, xc = classes.SALIENT_CELL
    salient = classes.BIVARIATE_PALETTE[yc][xc]
    others = [c for row in classes.BIVARIATE_PALETTE for c in row if c != salient]
    assert luminance(salient) < min(luminance(c) for c in others)
    # On the map the salient areas carry the hatch pattern too (a layer that takes no clicks).
    hatched = re.findall(r'"pattern": "hatch"', html)
    assert len(hatched) == counts[8]  # bottom row, right: low engagement, high need
    assert "needmap-hatch" in html


def test_hidden_areas_are_striped_and_the_map_fits_beside_its_legend(areas):
    mask = np.zeros(N, dtype=bool)
    mask[:3] = True
    html = _choropleth(areas, suppressed_mask=mask).get_root().render()
    assert html.count('"pattern": "stripes"') == 3
    assert "repeating-linear-gradient" in _legend(html)  # the legend swatch is striped too
    assert "<details" in _legend(html)  # folds on a phone
    # The map script fits the areas beside the legend, refits when its frame is sized, and
    # focuses without scrolling the page that holds it.
    assert "getBoundsZoom" in html and "ResizeObserver" in html
    assert "preventScroll: true" in html


def test_fixed_classes_are_kept_whatever_the_areas_shown(areas):
    m = _choropleth(areas, class_breaks=classes.NEED_BREAKS, class_labels=classes.NEED_LABELS,
                    class_colours=classes.NEED_COLOURS, value_column="rate")
    legend = _legend(m.get_root().render())
    assert all(label in legend for label in classes.NEED_LABELS)
    with pytest.raises(InputError, match="one entry per class"):
        _choropleth(areas, class_breaks=[1, 2], class_labels=["a"], class_colours=["#fff"])
