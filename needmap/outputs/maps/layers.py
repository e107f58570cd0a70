"""Maps of a snapshot: what the pages and ``needmap map`` draw, from published figures only.

Each function takes a snapshot and the choice a person made, reads the published table for it
(``needmap.outputs.tables``) and hands it to a plain builder in ``needmap.outputs.maps.builders``,
so the app and the CLI draw exactly the same map for the same choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.errors import InputError
from needmap.outputs import flags as flag_words
from needmap.outputs import tables
from needmap.outputs.attribution import map_attribution
from needmap.outputs.maps.builders import Mark, bivariate, categorical, choropleth
from needmap.outputs.maps.classes import (
    NEED_BREAKS,
    NEED_COLOURS,
    NEED_LABELS,
    breaks,
    palette,
    range_labels,
    spread,
)
from needmap.outputs.maps.geometry import display_geometry
from needmap.outputs.measures import (
    CHANGE_IN_NEED,
    MEASURES,
    change_in_need_label,
    get_measure,
)
from needmap.snapshot import Snapshot

#: Flag -> colour of the classes the radar makes today (see needmap.outputs.flags).
FLAG_COLOURS = {name: s.colour for name, s in flag_words.KNOWN.items()}


def measures_for(snapshot: Snapshot, level: str) -> list[str]:
    """The figures a map of ``level`` can show for this snapshot (change in need: wards)."""
    extra = [k for k in CHANGE_IN_NEED if k in snapshot.areas(level).columns]
    return [*MEASURES, *extra]


def display_layer(snapshot: Snapshot, level: str) -> gpd.GeoDataFrame:
    """The level's polygons for display (simplified, EPSG:4326) with their public attributes."""
    return display_geometry(snapshot.areas(level))


def outline_of(display_wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The authority outline from display wards (one dissolved polygon)."""
    return gpd.GeoDataFrame(geometry=[display_wards.union_all()], crs=display_wards.crs)


def _geometry(snapshot: Snapshot, level: str, display: gpd.GeoDataFrame | None
              ) -> gpd.GeoDataFrame:
    layer = display if display is not None else display_layer(snapshot, level)
    return layer[[f"{level}_code", layer.geometry.name]]


def _with_geometry(data, level: str, geometry: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    code = f"{level}_code"
    frame = geometry.merge(
        data.drop(columns=data.geometry.name, errors="ignore") if hasattr(data, "geometry")
        else data,
        on=code, how="left",
    )
    if level == "lsoa" and "ward_name" in frame:
        frame["Ward"] = frame["ward_name"]
    return gpd.GeoDataFrame(frame, geometry=geometry.geometry.name, crs=geometry.crs)


def _tooltip_columns(level: str) -> list[str]:
    return ["Ward"] if level == "lsoa" else []


def measure_map(
    snapshot: Snapshot,
    *,
    level: str,
    measure: str,
    period: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    display: gpd.GeoDataFrame | None = None,
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    areas: list[str] | None = None,
    marks: Sequence[Mark] = (),
    mark_legend: Sequence[tuple[str, str, str]] = (),
    need_fifths: bool = False,
) -> folium.Map:
    """Choropleth of one published figure at ``level`` for one published period.

    Hidden figures are grey and striped and labelled as suppressed; their values are not in the
    map at all. ``areas`` limits the map to some area codes (a worker's zone) while keeping the
    whole authority's classes, so "high" means high in the authority. ``need_fifths`` draws a
    need percentile in fixed national fifths (as the zone pack does). ``marks`` are drawn on top
    (worker bases, flagged areas) and explained in the legend by ``mark_legend``.
    """
    m = get_measure(measure)
    table = tables.area_table(snapshot, level, period)
    if measure not in table.data:
        raise InputError(f"{m.label} is not available in snapshot {snapshot.id}.")
    frame = _with_geometry(table.data, level, _geometry(snapshot, level, display))
    hidden = (table.hidden[measure].to_numpy() if measure in table.hidden
              else np.zeros(len(table.data), dtype=bool))
    hidden = frame[f"{level}_code"].map(
        dict(zip(table.data[f"{level}_code"], hidden, strict=True))).fillna(False).to_numpy()
    fixed: dict = {}
    if need_fifths and m.kind == "percentile":
        fixed = dict(class_breaks=NEED_BREAKS, class_labels=NEED_LABELS,
                     class_colours=NEED_COLOURS)
    elif areas is not None and measure not in CHANGE_IN_NEED:
        values = pd.to_numeric(frame[measure], errors="coerce").to_numpy(dtype=float)
        shown = ~hidden & np.isfinite(values)
        bins = breaks(values[shown], scheme, k)
        if len(bins):
            fixed = dict(class_breaks=bins,
                         class_labels=range_labels(values[shown], bins, m.fmt),
                         class_colours=spread(palette(m.palette, k), len(bins)))
    if areas is not None:
        keep = frame[f"{level}_code"].isin(set(areas)).to_numpy()
        frame, hidden = frame[keep], hidden[keep]
    label = m.label
    if m.kind == "rate":
        label += f" ({snapshot.children_label})"
    if measure in CHANGE_IN_NEED:
        label = change_in_need_label(measure, snapshot.previous_vintage, snapshot.vintage)
        scheme, k = "diverging", 7  # centred on no change
    return choropleth(
        frame, code_column=f"{level}_code", name_column=f"{level}_name",
        value_column=measure, value_label=label, attribution=map_attribution(snapshot),
        scheme=scheme, k=k, palette=m.palette, value_format=m.fmt, outline=outline,
        tiles=tiles, tiles_attribution=tiles_attribution,
        extra_tooltip_columns=_tooltip_columns(level), suppressed_mask=hidden, marks=marks,
        mark_legend=mark_legend, **fixed,
    )


def change_map(
    snapshot: Snapshot,
    *,
    level: str,
    measure: str,
    before: str,
    after: str,
    k: int = 7,
    display: gpd.GeoDataFrame | None = None,
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """Change of a figure between two published periods, on a diverging scale centred on 0."""
    table = tables.change_table(snapshot, level, measure, before, after)
    frame = _with_geometry(table.data, level, _geometry(snapshot, level, display))
    hidden = frame[f"{level}_code"].map(
        dict(zip(table.data[f"{level}_code"], table.hidden["change"], strict=True))
    ).fillna(False).to_numpy()
    label = f"Change in {MEASURES[measure].label.lower()}, {before} to {after}"
    return choropleth(
        frame, code_column=f"{level}_code", name_column=f"{level}_name",
        value_column="change", value_label=label, attribution=map_attribution(snapshot),
        scheme="diverging", k=k, palette="RdBu_r", value_format="{:+,.1f}", outline=outline,
        tiles=tiles, tiles_attribution=tiles_attribution,
        extra_tooltip_columns=_tooltip_columns(level), suppressed_mask=hidden,
    )


def need_engagement_map(
    snapshot: Snapshot,
    *,
    level: str,
    period: str | None = None,
    need: str = "idaci_pctile",
    engagement: str = "reach_rate",
    display: gpd.GeoDataFrame | None = None,
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """The 3x3 map of need against engagement (tertiles within the authority)."""
    table = tables.area_table(snapshot, level, period)
    frame = _with_geometry(table.data, level, _geometry(snapshot, level, display))
    hidden = frame[f"{level}_code"].map(
        dict(zip(table.data[f"{level}_code"], table.hidden[engagement], strict=True))
    ).fillna(False).to_numpy()
    return bivariate(
        frame, code_column=f"{level}_code", name_column=f"{level}_name", x_column=need,
        y_column=engagement, attribution=map_attribution(snapshot),
        x_label=f"Need ({need.split('_')[0].upper()} percentile, {snapshot.vintage})",
        y_label="Families engaged per 1,000 children a year", outline=outline, tiles=tiles,
        tiles_attribution=tiles_attribution, extra_tooltip_columns=_tooltip_columns(level),
        suppressed_mask=hidden,
    )


def flag_map(
    snapshot: Snapshot,
    *,
    level: str,
    kind: str = "engagement",
    display: gpd.GeoDataFrame | None = None,
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    areas: list[str] | None = None,
) -> folium.Map:
    """Each area in the colour of its off-the-radar flag; the strongest class is hatched and
    "watch" dotted, so no class rests on colour alone. The legend lists the classes present."""
    flags = snapshot.flags(level, kind)[["area_code", "flag"]]
    geometry = _geometry(snapshot, level, display)
    frame = geometry.merge(flags.rename(columns={"area_code": f"{level}_code"}),
                           on=f"{level}_code", how="left")
    names = snapshot.areas(level)[[f"{level}_code", f"{level}_name"]]
    frame = gpd.GeoDataFrame(frame.merge(names, on=f"{level}_code", how="left"),
                             geometry=geometry.geometry.name, crs=geometry.crs)
    if areas is not None:
        frame = frame[frame[f"{level}_code"].isin(set(areas))]
    names = frame["flag"].dropna().astype(str)
    return categorical(
        frame, code_column=f"{level}_code", name_column=f"{level}_name",
        category_column="flag", colours=flag_words.colours(names),
        patterns=flag_words.patterns(names), title="Flag",
        attribution=map_attribution(snapshot), outline=outline, tiles=tiles,
        tiles_attribution=tiles_attribution,
    )
