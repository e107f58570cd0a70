"""Folium map builders that work with no network: choropleth, bivariate map, standalone HTML.

Every map is built on the vendored Leaflet in ``needmap/static`` (no CDN link), has no basemap
unless a tile URL is given, carries the data attribution, and gives each polygon its GSS code as
the GeoJSON feature ``id`` and as a property, so a click can be traced back to an area. This module
never imports streamlit; ``needmap.app.offline`` serves the same assets to the Streamlit component.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from needmap.errors import InputError
from needmap.outputs.maps import classes as cls
from needmap.outputs.maps.assets import localize_assets
from needmap.outputs.maps.classes import (
    BIVARIATE_PALETTE,
    NO_DATA_COLOUR,
    NO_DATA_LABEL,
    PATTERNS,
    SALIENT_CELL,
    SCHEMES,
    SUPPRESSED_COLOUR,
    SUPPRESSED_LABEL,
    TERTILE_NAMES,
)
from needmap.outputs.maps.legends import MARK_STYLES, Row, bivariate_legend_html, legend_html


@dataclass(frozen=True)
class Mark:
    """A text mark drawn on the map at a point (EPSG:4326): a zone number, a worker base, "!".

    ``kind`` picks the style (``zone``, ``base``, ``flag``); ``title`` is read by screen readers
    and shown on hover.
    """

    lat: float
    lon: float
    text: str
    kind: str = "zone"
    title: str = ""




def choropleth(
    gdf: gpd.GeoDataFrame,
    *,
    code_column: str,
    name_column: str,
    value_column: str,
    value_label: str,
    attribution: str,
    scheme: str = "quantiles",
    k: int = 5,
    palette: str = "YlOrRd",
    value_format: str = "{:,.1f}",
    outline: Any = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    extra_tooltip_columns: Sequence[str] = (),
    suppressed_mask: Sequence[bool] | np.ndarray | pd.Series | None = None,
    marks: Sequence[Mark] = (),
    mark_legend: Sequence[tuple[str, str, str]] = (),
    class_breaks: Sequence[float] | None = None,
    class_labels: Sequence[str] | None = None,
    class_colours: Sequence[str] | None = None,
) -> folium.Map:
    """Draw one value per area in ``k`` classes, with a legend and tooltips.

    Parameters
    ----------
    gdf : GeoDataFrame
        One row per area. Any CRS (reprojected to EPSG:4326); pass the output of
        :func:`needmap.geometry.display_geometry` to keep the page light.
    code_column, name_column : str
        GSS code and name columns. The code becomes each feature's ``id`` and stays in its
        properties, so ``last_active_drawing["properties"][code_column]`` names the clicked area.
    value_column, value_label : str
        The column to map, and how the legend and tooltip name it.
    attribution : str
        Data attribution shown on the map, e.g. "Contains OS data © Crown copyright and database
        right 2025; ONS; MHCLG IoD2019; synthetic records".
    scheme : {"quantiles", "natural_breaks", "equal_interval"}, default "quantiles"
        How class breaks are chosen (mapclassify). Natural breaks are Fisher-Jenks, computed on at
        most 300 evenly spaced order statistics, so they are deterministic and quick for any n.
    k : int, default 5
        Number of classes, 3 to 9 (fewer when there are fewer distinct values).
    palette : str, default "YlOrRd"
        A ColorBrewer sequential palette name, light for low values.
    value_format : str, default "{:,.1f}"
        Format of values in the tooltip and legend.
    outline : GeoDataFrame, GeoSeries, shapely geometry or None
        Authority boundary drawn on top as a dark line that does not catch clicks.
    tiles, tiles_attribution : str or None
        Basemap. ``None`` (default) draws no basemap and makes no tile request. A URL template
        (``https://.../{z}/{x}/{y}.png``) needs ``tiles_attribution``; a folium/xyzservices name
        brings its own.
    extra_tooltip_columns : sequence of str
        Further columns shown in the tooltip as they are (already disclosure-controlled).
    suppressed_mask : boolean array-like or None
        True where the value must not be shown (small-number suppression). Those areas are grey,
        labelled "suppressed", left out of the class breaks, and their value is not written into
        the map at all; they carry a striped pattern, so "hidden" never rests on colour alone.
    marks : sequence of Mark
        Text marks drawn on top (worker bases, "!" on flagged areas).
    mark_legend : sequence of (kind, text, label)
        Legend lines explaining the marks, e.g. ``("flag", "!", "off the radar")``.
    class_breaks, class_labels, class_colours : sequence or None
        Classes fixed by the caller instead of ``scheme`` and ``k``: upper bounds, with their
        labels and colours (by default range labels and the palette). Used for fixed national
        need classes, and to keep a whole authority's classes on a map of part of it.

    Returns
    -------
    folium.Map
        Fitted to the areas' bounds, beside its legend.

    Raises
    ------
    InputError
        If a column is missing, an option is not recognised, or the mask has the wrong length.
    """
    frame = _prepare(gdf, [code_column, name_column, value_column, *extra_tooltip_columns])
    if scheme not in (*SCHEMES, cls.DIVERGING):
        raise InputError(f"scheme must be one of {list(SCHEMES)}, got {scheme!r}.")
    if not isinstance(k, int) or not 3 <= k <= 9:
        raise InputError(f"k must be an integer from 3 to 9 classes, got {k!r}.")
    colours = cls.palette(palette, k)
    values = _numeric(frame, value_column)
    suppressed = _mask(suppressed_mask, len(frame))
    shown = ~suppressed & np.isfinite(values)

    if class_breaks is not None:
        bins = np.asarray(class_breaks, dtype=float)
        low = min(float(np.nanmin(values[shown])), bins[0]) if shown.any() else bins[0]
        labels = (list(class_labels) if class_labels is not None
                  else cls.range_labels(np.array([low]), bins, value_format))
        colours = (list(class_colours) if class_colours is not None
                   else cls.spread(cls.palette(palette, max(3, len(bins))), len(bins)))
        if not len(labels) == len(colours) == len(bins):
            raise InputError("class_breaks, class_labels and class_colours must have one entry "
                             f"per class; got {len(bins)}, {len(labels)} and {len(colours)}.")
    elif scheme == cls.DIVERGING:
        bins = cls.diverging_breaks(values[shown], k)
        low = -bins[-1] if len(bins) else 0.0
        labels = cls.range_labels(np.array([low]), bins, value_format)
    else:
        bins = cls.breaks(values[shown], scheme, k)
        labels = cls.range_labels(values[shown], bins, value_format)
        colours = cls.spread(colours, len(bins))
    classes = np.full(len(frame), -1)
    if len(bins):
        classes[shown] = np.minimum(np.searchsorted(bins, values[shown], side="left"),
                                    len(bins) - 1)

    fill = np.where(suppressed, SUPPRESSED_COLOUR, NO_DATA_COLOUR).astype(object)
    value_text = np.where(suppressed, SUPPRESSED_LABEL, NO_DATA_LABEL).astype(object)
    class_text = value_text.copy()
    for i in np.flatnonzero(shown):
        fill[i] = colours[classes[i]]
        value_text[i] = value_format.format(values[i])
        class_text[i] = labels[classes[i]]

    properties = {
        code_column: frame[code_column].astype(str).to_numpy(),
        name_column: frame[name_column].astype(str).to_numpy(),
        "value": value_text,
        "class": class_text,
        **{c: _as_text(frame[c]) for c in extra_tooltip_columns},
    }
    counts = np.bincount(classes[shown], minlength=len(bins)) if len(bins) else []
    rows: list[Row] = [(colours[i], labels[i], int(counts[i])) for i in range(len(bins))]
    rows += _grey_rows(suppressed, ~suppressed & ~np.isfinite(values))
    legend = legend_html(value_label, rows, marks=mark_legend)
    tooltip = (
        [name_column, code_column, "value", "class", *extra_tooltip_columns],
        ["Name", "Code", value_label, "Class", *extra_tooltip_columns],
    )
    return _assemble(
        frame, code_column, properties, fill, tooltip, legend, attribution, outline, tiles,
        tiles_attribution, patterns=_suppressed_patterns(properties[code_column], suppressed),
        marks=marks,
    )


def bivariate(
    gdf: gpd.GeoDataFrame,
    *,
    code_column: str,
    name_column: str,
    x_column: str,
    y_column: str,
    attribution: str,
    x_label: str = "Need",
    y_label: str = "Engagement",
    k: int = 3,
    value_format: str = "{:,.1f}",
    outline: Any = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    extra_tooltip_columns: Sequence[str] = (),
    suppressed_mask: Sequence[bool] | np.ndarray | pd.Series | None = None,
) -> folium.Map:
    """Cross need (across) with engagement (up) in a 3x3 tertile map with a 2-D legend.

    Both variables are cut at their own tertiles (mapclassify ``Quantiles(k=3)``) and coloured
    from ColorBrewer RdBu (:data:`~needmap.outputs.maps.classes.BIVARIATE_PALETTE`): high need
    with low engagement, the pattern an early-help service looks for, is the darkest red and is
    hatched. Tooltips say e.g. "Need: high, Engagement: low"; the key counts areas per cell.

    Parameters
    ----------
    gdf : GeoDataFrame
        One row per area, as for :func:`choropleth`.
    code_column, name_column : str
        GSS code and name columns (the code is the feature ``id`` and a property).
    x_column, y_column : str
        Need (horizontal axis) and engagement (vertical axis) columns.
    attribution : str
        Data attribution shown on the map.
    x_label, y_label : str
        Names used in the legend and tooltip.
    k : int, default 3
        Classes per axis; only 3 is supported (the palette is 3x3).
    value_format, outline, tiles, tiles_attribution, extra_tooltip_columns, suppressed_mask
        As for :func:`choropleth`; a suppressed row hides both values.

    Returns
    -------
    folium.Map
    """
    if k != 3:
        raise InputError(f"bivariate maps use 3 classes per axis (a 3x3 palette), got k={k!r}.")
    frame = _prepare(gdf, [code_column, name_column, x_column, y_column, *extra_tooltip_columns])
    x = _numeric(frame, x_column)
    y = _numeric(frame, y_column)
    suppressed = _mask(suppressed_mask, len(frame))
    shown = ~suppressed & np.isfinite(x) & np.isfinite(y)

    x_bins = cls.breaks(x[shown], "quantiles", 3)
    y_bins = cls.breaks(y[shown], "quantiles", 3)
    fill = np.where(suppressed, SUPPRESSED_COLOUR, NO_DATA_COLOUR).astype(object)
    x_text = np.where(suppressed, SUPPRESSED_LABEL, NO_DATA_LABEL).astype(object)
    y_text = x_text.copy()
    class_text = x_text.copy()
    counts = np.zeros((3, 3), dtype=int)
    codes = frame[code_column].astype(str).to_numpy()
    patterns = _suppressed_patterns(codes, suppressed)
    for i in np.flatnonzero(shown):
        xc = cls.tertile(x[i], x_bins)
        yc = cls.tertile(y[i], y_bins)
        counts[yc][xc] += 1
        if (yc, xc) == SALIENT_CELL:
            patterns[codes[i]] = "hatch"
        fill[i] = BIVARIATE_PALETTE[yc][xc]
        x_text[i] = value_format.format(x[i])
        y_text[i] = value_format.format(y[i])
        class_text[i] = f"{x_label}: {TERTILE_NAMES[xc]}, {y_label}: {TERTILE_NAMES[yc]}"

    properties = {
        code_column: frame[code_column].astype(str).to_numpy(),
        name_column: frame[name_column].astype(str).to_numpy(),
        "x_value": x_text,
        "y_value": y_text,
        "class": class_text,
        **{c: _as_text(frame[c]) for c in extra_tooltip_columns},
    }
    grey = _grey_rows(suppressed, ~suppressed & ~shown)
    legend = bivariate_legend_html(x_label, y_label, x_bins, y_bins, value_format, grey,
                                   counts=counts)
    tooltip = (
        [name_column, code_column, "class", "x_value", "y_value", *extra_tooltip_columns],
        ["Name", "Code", "Class", x_label, y_label, *extra_tooltip_columns],
    )
    return _assemble(frame, code_column, properties, fill, tooltip, legend, attribution,
                     outline, tiles, tiles_attribution, patterns=patterns)


def categorical(
    gdf: gpd.GeoDataFrame,
    *,
    code_column: str,
    name_column: str,
    category_column: str,
    colours: dict[str, str],
    title: str,
    attribution: str,
    outline: Any = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    extra_tooltip_columns: Sequence[str] = (),
    patterns: dict[str, str] | None = None,
    marks: Sequence[Mark] = (),
    mark_legend: Sequence[tuple[str, str, str]] = (),
) -> folium.Map:
    """One colour per category (e.g. off-the-radar flags), legend in the order of ``colours``.

    Categories missing from ``colours`` are drawn in the no-data grey. ``patterns`` maps a
    category to a pattern of :data:`~needmap.outputs.maps.classes.PATTERNS` drawn over its
    colour (and its legend swatch); ``marks`` are drawn on top and explained by ``mark_legend``.
    """
    frame = _prepare(gdf, [code_column, name_column, category_column, *extra_tooltip_columns])
    cats = frame[category_column].astype(str).to_numpy()
    fill = np.array([colours.get(c, NO_DATA_COLOUR) for c in cats], dtype=object)
    properties = {
        code_column: frame[code_column].astype(str).to_numpy(),
        name_column: frame[name_column].astype(str).to_numpy(),
        "category": cats,
        **{c: _as_text(frame[c]) for c in extra_tooltip_columns},
    }
    patterns = patterns or {}
    rows: list[Row] = [(colour, label, int((cats == label).sum()), patterns.get(label))
                       for label, colour in colours.items()]
    legend = legend_html(title, rows, marks=mark_legend)
    tooltip = (
        [name_column, code_column, "category", *extra_tooltip_columns],
        ["Name", "Code", title, *extra_tooltip_columns],
    )
    by_code = {c: patterns[k] for c, k in zip(properties[code_column], cats, strict=True)
               if k in patterns}
    return _assemble(frame, code_column, properties, fill, tooltip, legend, attribution,
                     outline, tiles, tiles_attribution, patterns=by_code, marks=marks)


# --- building blocks ---------------------------------------------------------------------------


def _prepare(gdf: gpd.GeoDataFrame, columns: Iterable[str]) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"Map builders expect a GeoDataFrame, got {type(gdf).__name__}.")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(
            f"Columns {missing} are not in the GeoDataFrame; it has {list(gdf.columns)}. "
            "Pass the names of existing columns."
        )
    if gdf.crs is None:
        raise InputError(
            "The GeoDataFrame has no CRS. Set it with set_crs() (EPSG:27700 for stored needmap "
            "geometry) before mapping."
        )
    if len(gdf) == 0:
        raise InputError("The GeoDataFrame has no rows; there is nothing to map.")
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        raise InputError(
            "Some rows have no geometry; a map needs a polygon for every area. Drop them or "
            "join the boundaries again."
        )
    frame = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf
    return frame.reset_index(drop=True)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        raise InputError(
            f"Column '{column}' must be numeric; found {frame[column][bad].iloc[0]!r}. "
            "Map a numeric column, with missing values as NaN."
        )
    return values.to_numpy(dtype=float)


def _mask(mask: Any, n: int) -> np.ndarray:
    if mask is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(mask, dtype=bool)
    if arr.shape != (n,):
        raise InputError(
            f"suppressed_mask must have one boolean per row ({n}), got shape {arr.shape}."
        )
    return arr


def _as_text(column: pd.Series) -> np.ndarray:
    return np.array([NO_DATA_LABEL if pd.isna(v) else str(v) for v in column], dtype=object)


def _suppressed_patterns(codes: np.ndarray, suppressed: np.ndarray) -> dict[str, str]:
    return {str(c): "stripes" for c in np.asarray(codes)[suppressed]}


def _grey_rows(suppressed: np.ndarray, no_data: np.ndarray) -> list[Row]:
    rows: list[Row] = []
    if suppressed.any():
        rows.append((SUPPRESSED_COLOUR, SUPPRESSED_LABEL, int(suppressed.sum()), "stripes"))
    if no_data.any():
        rows.append((NO_DATA_COLOUR, NO_DATA_LABEL, int(no_data.sum())))
    return rows


def _assemble(
    frame: gpd.GeoDataFrame,
    code_column: str,
    properties: dict[str, np.ndarray],
    fill: np.ndarray,
    tooltip: tuple[list[str], list[str]],
    legend: str,
    attribution: str,
    outline: Any,
    tiles: str | None,
    tiles_attribution: str | None,
    *,
    patterns: dict[str, str] | None = None,
    marks: Sequence[Mark] = (),
) -> folium.Map:
    codes = properties[code_column]
    if len(set(codes)) != len(codes):
        dup = pd.Series(codes)[pd.Series(codes).duplicated()].iloc[0]
        raise InputError(
            f"Column '{code_column}' must hold one row per area; code {dup!r} appears more than "
            "once. Aggregate to one row per area before mapping."
        )
    fill_by_code = dict(zip(codes, fill, strict=True))
    # Leaflet tooltips insert property values with innerHTML: every value is escaped here, the
    # one place all map text passes through (names and codes come from files).
    safe = {key: np.array([html.escape(str(v), quote=True) for v in values], dtype=object)
            for key, values in properties.items()}
    geometries = list(_geometries(frame))
    features = [
        {
            "type": "Feature",
            "id": codes[i],
            "properties": {key: values[i] for key, values in safe.items()},
            "geometry": geom,
        }
        for i, geom in enumerate(geometries)
    ]
    data = {"type": "FeatureCollection", "features": features}

    # Fractional zoom lets the fit fill the frame instead of snapping a whole level out.
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25, zoom_delta=0.5)
    localize_assets(m)
    if tiles is not None:
        _add_tiles(m, tiles, tiles_attribution)

    folium.GeoJson(
        data,
        name="areas",
        style_function=lambda f: {
            "fillColor": fill_by_code[f["id"]],
            "color": "#555555",
            "weight": 0.6,
            "fillOpacity": 0.85,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000", "fillOpacity": 0.95},
        tooltip=folium.GeoJsonTooltip(fields=tooltip[0], aliases=tooltip[1], sticky=True),
    ).add_to(m)
    patterns = {str(k): v for k, v in (patterns or {}).items()}
    unknown = set(patterns.values()) - set(PATTERNS)
    if unknown:
        raise InputError(f"Unknown pattern(s) {sorted(unknown)}; use {sorted(PATTERNS)}.")
    if patterns:
        # Patterns sit on a layer of their own over the colours, drawn with SVG <pattern>s
        # that _MapSetup defines; it catches no clicks, so tooltips and clicks reach the area.
        overlay = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": codes[i], "properties": {"pattern": patterns[codes[i]]},
             "geometry": geometries[i]}
            for i in range(len(codes)) if codes[i] in patterns
        ]}
        folium.GeoJson(
            overlay, name="patterns", interactive=False,
            style_function=lambda f: {"fillColor": f"url(#needmap-{f['properties']['pattern']})",
                                      "fillOpacity": 1, "stroke": False},
        ).add_to(m)
    if outline is not None:
        _outline_layer(outline).add_to(m)
    for mark in marks:
        folium.Marker(
            [float(mark.lat), float(mark.lon)], interactive=False, keyboard=False,
            icon=folium.DivIcon(
                html=(f'<div class="needmap-mark" data-kind="{html.escape(mark.kind)}" '
                      f'role="img" aria-label="{html.escape(mark.title or mark.text)}" title="'
                      f'{html.escape(mark.title or mark.text)}" style="{MARK_STYLES[mark.kind]};'
                      f'transform:translate(-50%,-50%);display:inline-flex;white-space:nowrap">'
                      f"{html.escape(mark.text)}</div>"),
                icon_size=(0, 0), class_name="needmap-mark-icon",
            ),
        ).add_to(m)
    _HtmlControl(legend, position="bottomright").add_to(m)
    _Attribution(attribution).add_to(m)
    m.get_root().header.add_child(Element(f"<style>{MAP_CSS}</style>"))
    west, south, east, north = frame.total_bounds
    _MapSetup([[float(south), float(west)], [float(north), float(east)]]).add_to(m)
    return m


#: Map text: compact, tooltips that wrap instead of running off the frame, marks on top.
MAP_CSS = (
    # Leaflet sizes text in rem, which the st_folium frame makes large; keep map text compact.
    ".leaflet-container{font-size:13px}"
    # A sticky tooltip opens on the side of the pointer with more room (Leaflet's "auto");
    # capped below half the frame's width, it always fits there.
    ".leaflet-tooltip{font-size:13px;padding:4px 6px;white-space:normal;"
    "width:max-content;max-width:min(340px,calc(50vw - 16px))}"
    ".leaflet-tooltip th,.leaflet-tooltip td{white-space:normal;overflow-wrap:break-word;"
    "vertical-align:top;text-align:left}.leaflet-tooltip th{font-weight:normal;color:#333}"
    ".leaflet-tooltip td{font-weight:bold}"
    ".leaflet-control-attribution{font-size:11px;line-height:1.3;max-width:70%;"
    "color:#333}.leaflet-control-attribution a{color:#0a5a83}"
    ".leaflet-control-scale-line{color:#222}"
    ".needmap-mark-icon{background:none;border:none}"
    # The count of flags merged into a flag where they crowd (see _MapSetup): a badge on its
    # corner, out of the flow, so it does not widen the mark whose box was measured.
    ".needmap-mark{position:relative}.needmap-more{position:absolute;top:-8px;right:-10px;"
    "font:bold 10px/13px sans-serif;color:#fff;background:#000;border-radius:7px;"
    "padding:0 3px;pointer-events:none}"
    # Smaller marks on a phone-sized map, where zone numbers and flags crowd.
    "@media (max-width:480px){.needmap-mark{font-size:11px!important;padding:0 3px!important;"
    "min-width:0!important}.needmap-mark[style*='radius:50%']{width:15px!important;"
    "height:15px!important;padding:0!important}}"
    ".leaflet-container:focus-visible{outline:3px solid #1a5fb4;outline-offset:-3px}"
    ".leaflet-container .leaflet-interactive:focus{outline:none}"
    ".needmap-legend summary:focus-visible{outline:2px solid #1a5fb4}"
)


def highlight_script(code: str | None, version: int = 0) -> str | None:
    """Script that marks one area as selected on a drawn map (st_folium's ``feature_group``).

    streamlit-folium evaluates it in the map's frame whenever it changes, without redrawing the
    map, after removing the layers the previous mark added (``window.feature_group``). A click
    marks its area in the frame itself (``_MapSetup``), so a page changes this script only when
    the selection comes from elsewhere (the area picker), bumping ``version`` if the code is the
    same as before: each change resends the map's whole script to the browser.
    """
    if not code:
        return None
    return (f"/* selection {int(version)} */ window.needmapMarkCode && "
            f"window.needmapMarkCode({json.dumps(str(code))});")


def _geometries(frame: gpd.GeoDataFrame) -> Iterator[dict]:
    for geom in frame.geometry.array:
        yield json.loads(shapely.to_geojson(geom))


def _add_tiles(m: folium.Map, tiles: str, attribution: str | None) -> None:
    if "{" in tiles and not attribution:
        raise InputError(
            f"The tile URL {tiles!r} needs tiles_attribution, the credit its provider requires "
            "(e.g. '© OpenStreetMap contributors')."
        )
    folium.TileLayer(tiles=tiles, attr=attribution, name="basemap").add_to(m)


def _outline_layer(outline: Any) -> folium.GeoJson:
    if isinstance(outline, gpd.GeoDataFrame):
        outline = outline.geometry
    if isinstance(outline, gpd.GeoSeries):
        if outline.crs is None:
            raise InputError("The outline has no CRS; set it with set_crs() before mapping.")
        geom = outline.to_crs("EPSG:4326").union_all()
    elif hasattr(outline, "__geo_interface__"):
        geom = outline  # a bare shapely geometry is taken to be in EPSG:4326
    else:
        raise InputError(
            "outline must be a GeoDataFrame, GeoSeries or shapely geometry, "
            f"got {type(outline).__name__}."
        )
    return folium.GeoJson(
        geom.__geo_interface__,
        name="outline",
        style_function=lambda f: {"fill": False, "color": "#111111", "weight": 2.5},
        interactive=False,
    )


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (the legend); clicks on it stay on it."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "needmap-control");
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html_text
        self.position = position


class _MapSetup(MacroElement):
    """What every needmap map does once its layers are in, in the map's own script.

    - **Fit beside the legend.** The areas' bounds are fitted with the legend's width kept clear
      on the right, or its height at the bottom, whichever shows the areas larger; so no legend
      covers any area. The legend starts folded on a map under 480 px wide (a phone).
    - **Fit when shown.** A map drawn in a hidden tab has no size, and Leaflet would fit the
      bounds at world zoom. A ResizeObserver fits again whenever the frame gets or changes its
      size, until the person pans or zooms.
    - **Fit when the legend is placed.** streamlit-folium can run the map's script before
      Leaflet's stylesheet applies; the legend then lies below the map, and room kept for it
      there cut off the map's south (in about 1 run in 2 on a busy machine). The legend is used
      only once its box is inside the map's, and the fit is made again when it gets there.
    - **No page jump on a first click.** Leaflet focuses the map on mouse-down; in an iframe the
      browser then scrolls the page to show the whole frame, so the release lands elsewhere and
      the click is lost. Leaflet's keyboard handler is re-bound to focus without scrolling.
    - **Flags that crowd are merged.** Where flag marks ("!", "?") would overlap at the present
      zoom (on a phone, five in Oldham's dense west), the first one keeps its place with a
      "+n" for the others, which are hidden until a zoom gives them room; its title and label
      say how many flagged areas it stands for. Marks are listed strongest first, so a "?" never
      hides a "!". Zone numbers and bases are never hidden (their places avoid the flags).
    - **Patterns** used by the pattern layer are defined in the map's SVG.
    - **No Tab stop per area**: the page's area picker gives an area to the keyboard.
    - **The selected area is marked** on a click, at once and without a round trip.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds, patterns) {
            var kb = map.keyboard;
            if (kb) {
                kb.disable();
                kb._onMouseDown = function () {
                    if (!this._focused) { this._map._container.focus({preventScroll: true}); }
                };
                kb.enable();
            }
            var box = L.latLngBounds(bounds), moved = false, sized = false, fitting = false;
            var container = map.getContainer();
            var legend = container.querySelector('.needmap-legend');
            function fit() {
                fitting = true;
                try { fitNow(); } finally { fitting = false; }
            }
            function fitNow() {
                map.invalidateSize({pan: false});  // Leaflet caches the size it last saw
                var size = map.getSize();
                if (!(size.x >= 60 && size.y >= 60)) {
                    // Hidden (a closed tab) or not laid out yet: a view is needed for the layers
                    // to be added; the real fit waits for a size (ResizeObserver below).
                    if (!map._loaded) { map.setView(box.getCenter(), 10, {animate: false}); }
                    return;
                }
                if (legend && !sized) { legend.open = size.x >= 480; }
                sized = true;
                var m = 10, opts = {animate: false, paddingTopLeft: [m, m],
                                    paddingBottomRight: [m, m]};
                var el = legend && legend.parentNode;
                if (el && !placed()) {
                    // Leaflet's stylesheet has not placed the legend yet (it lies below the map,
                    // and room kept for it there would cut off the map's south): fit without
                    // it now and again once it is in place.
                    waitForPlace();
                } else if (el) {
                    var r = el.getBoundingClientRect(), c = container.getBoundingClientRect();
                    var w = Math.max(c.right - r.left + m, m);
                    var h = Math.max(c.bottom - r.top + m, m);
                    var right = [w, m], bottom = [m, h], best = null, zBest = -Infinity;
                    [right, bottom].forEach(function (pad) {
                        // Keep at least a third of the frame for the areas.
                        if (size.x - pad[0] - m < size.x / 3 || size.y - pad[1] - m < size.y / 3) {
                            return;
                        }
                        var z = map.getBoundsZoom(box, false, L.point(pad[0] + m, pad[1] + m));
                        if (isFinite(z) && z > zBest) { zBest = z; best = pad; }
                    });
                    if (best) { opts.paddingBottomRight = best; }
                }
                map.fitBounds(box, opts);
            }
            // The legend is in place when its box lies inside the map's; a stylesheet that
            // arrives late moves it there without resizing it, so nothing else would tell.
            function placed() {
                var r = legend.parentNode.getBoundingClientRect();
                var c = container.getBoundingClientRect();
                return r.width > 0 && r.height > 0 && r.left >= c.left - 1 && r.top >= c.top - 1
                    && r.right <= c.right + 1 && r.bottom <= c.bottom + 1;
            }
            var waiting = false;
            function waitForPlace() {
                if (waiting) { return; }
                waiting = true;
                var tries = 0;
                (function look() {
                    tries += 1;
                    if (placed()) {
                        waiting = false;
                        if (!moved) { fit(); }
                    } else if (tries < 100) {
                        setTimeout(look, 100);
                    } else {
                        waiting = false;  // a legend larger than its map: fitted without it
                    }
                })();
            }
            fit();
            // Chromium gives every clickable SVG area a Tab stop: 142 unnamed stops to cross
            // the map. Areas are reached by keyboard with the list beside the map instead.
            container.querySelectorAll('path.leaflet-interactive').forEach(function (p) {
                p.setAttribute('tabindex', '-1');
            });
            // Only the person's own pan or zoom stops the refitting: a move made by code (a
            // late size, a re-render) must not freeze a view fitted at the wrong size.
            // Listeners capture, so they run before Leaflet's own handlers move the map.
            function userMoved() { moved = true; }
            map.on('dragstart boxzoomstart', userMoved);
            container.addEventListener('wheel', userMoved, {passive: true, capture: true});
            container.addEventListener('dblclick', userMoved, true);
            container.addEventListener('touchstart', function (e) {
                if (e.touches && e.touches.length > 1) { userMoved(); }
            }, {passive: true, capture: true});
            container.addEventListener('keydown', function (e) {
                if (e.key.indexOf('Arrow') === 0 || '+-=_'.indexOf(e.key) >= 0) { userMoved(); }
            }, true);
            container.querySelectorAll('.leaflet-control-zoom a').forEach(function (a) {
                a.addEventListener('click', userMoved, true);
            });
            // A move made by code after the fit (a component re-render setting its own view,
            // Leaflet keeping the centre on a late resize) is undone: fit again.
            map.on('moveend', function () {
                if (!moved && !fitting && sized) {
                    setTimeout(function () { if (!moved) { fit(); } }, 0);
                }
            });
            if (legend) {
                legend.addEventListener('toggle', function () { if (!moved) { fit(); } });
            }
            // The selected area: a thick black line on a white casing, above every area. A
            // click marks its own area at once; the page marks a picked one (highlight_script).
            function mark(layer) {
                (window.feature_group || []).forEach(function (g) { map.removeLayer(g); });
                var line = function (colour, weight) {
                    return L.geoJSON(layer.feature, {interactive: false, style: {
                        fill: false, color: colour, weight: weight, opacity: 1}});
                };
                window.feature_group = [L.featureGroup([line('#ffffff', 8), line('#000000', 4)])
                                        .addTo(map)];
                window.needmapSelected = layer.feature.id;
            }
            var areas = {};
            map.eachLayer(function (l) {
                if (l.feature && l.options.interactive !== false && l.getBounds) {
                    areas[l.feature.id] = l;
                    l.on('click', function () { mark(l); });
                }
            });
            window.needmapMarkCode = function (code) { if (areas[code]) { mark(areas[code]); } };
            if (window.ResizeObserver) {
                // The frame gets its size late (a tab opened, the page laid out) and the legend
                // its size late too (fonts); either change fits the map again.
                var watcher = new ResizeObserver(function () {
                    map.invalidateSize({pan: false});
                    if (!moved) { fit(); }
                });
                watcher.observe(container);
                if (legend) { watcher.observe(legend); watcher.observe(legend.parentNode); }
            }
            // Crowded flags: each flag mark, in the order given (strongest first), is hidden
            // when its box meets one already shown, which then counts it. Boxes come from the
            // marks' points and sizes, not the page, so a zoom animation cannot skew them.
            var flags = [];
            map.eachLayer(function (l) {
                var el = l.getElement && l instanceof L.Marker && l.getElement();
                var mark = el && el.querySelector('.needmap-mark[data-kind="flag"]');
                if (mark) {
                    flags.push({layer: l, mark: mark, label: mark.getAttribute('aria-label')});
                }
            });
            function declutter() {
                var size = map.getSize();
                if (!(size.x >= 60 && size.y >= 60)) { return; }
                var shown = [];
                flags.forEach(function (f) {
                    var old = f.mark.querySelector('.needmap-more');
                    if (old) { old.remove(); }
                    var p = map.latLngToContainerPoint(f.layer.getLatLng());
                    var w = f.mark.offsetWidth / 2, h = f.mark.offsetHeight / 2;
                    f.box = [p.x - w, p.y - h, p.x + w, p.y + h];
                    f.more = [];
                    var host = null;
                    for (var i = 0; i < shown.length && !host; i++) {
                        var b = shown[i].box;
                        if (f.box[0] < b[2] && b[0] < f.box[2] && f.box[1] < b[3]
                            && b[1] < f.box[3]) { host = shown[i]; }
                    }
                    if (host) {
                        host.more.push(f);
                        f.mark.style.visibility = 'hidden';
                    } else {
                        shown.push(f);
                        f.mark.style.visibility = '';
                    }
                });
                shown.forEach(function (f) {
                    var label = f.label;
                    if (f.more.length) {
                        var badge = document.createElement('span');
                        badge.className = 'needmap-more';
                        badge.setAttribute('aria-hidden', 'true');
                        badge.textContent = '+' + f.more.length;
                        f.mark.appendChild(badge);
                        label += '; and ' + f.more.length + ' more flagged area'
                            + (f.more.length > 1 ? 's' : '') + ' here (zoom in): '
                            + f.more.map(function (o) { return o.label; }).join('; ');
                    }
                    f.mark.setAttribute('aria-label', label);
                    f.mark.setAttribute('title', label);
                });
            }
            if (flags.length) {
                declutter();
                map.on('zoomend moveend resize', declutter);
            }
            var svg = map.getPanes().overlayPane.querySelector('svg');
            if (svg && patterns) {
                var defs = document.createElementNS('http://www.w3.org/2000/svg', 'defs');
                defs.innerHTML = patterns;
                svg.insertBefore(defs, svg.firstChild);
            }
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }}, {{ this.patterns|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "MapSetup"
        self.bounds = bounds
        self.patterns = "".join(
            f'<pattern id="needmap-{name}" patternUnits="userSpaceOnUse" width="8" height="8">'
            f"{body}</pattern>" for name, (body, _) in PATTERNS.items()
        )


class _Attribution(MacroElement):
    """Adds a data credit to the map's attribution control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                "attribution must be the data credit shown on the map, e.g. 'Contains OS data "
                "© Crown copyright and database right 2025; ONS'; got an empty value."
            )
        super().__init__()
        self._name = "Attribution"
        self.text = html.escape(text)



__all__: list[str] = ["MAP_CSS", "Mark", "bivariate", "categorical", "choropleth",
                      "highlight_script"]
