"""Maps of a snapshot, disclosure-controlled: what the Overview page and ``needmap map`` draw.

This joins a snapshot's tables, the measure catalogue and the disclosure rule to the plain map
builders in ``needmap.maps``, so the app and the CLI draw exactly the same thing.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from needmap.disclosure import suppression_mask
from needmap.maps import bivariate, choropleth
from needmap.measures import get_measure

#: Short credit for maps; the full text (the manifest's ``attribution``) is on the Data page.
MAP_ATTRIBUTION = "Contains OS data © Crown copyright 2025; ONS; MHCLG IoD2019 (OGL v3.0)"


def attribution(manifest: dict, *, full: bool = False) -> str:
    """Data credit for a snapshot's maps and exports, saying when the records are synthetic."""
    text = manifest.get("attribution", "") if full else MAP_ATTRIBUTION
    if manifest.get("synthetic_records"):
        text += (" Referral and engagement records are SYNTHETIC." if full else
                 "; referral and engagement records are SYNTHETIC")
    return text


def _tooltip_columns(level: str) -> list[str]:
    return ["Ward"] if level == "lsoa" else []


def _with_ward(data: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    if level == "lsoa" and "ward_name" in data:
        data = data.assign(Ward=data["ward_name"])
    return data


def measure_map(
    layer: gpd.GeoDataFrame,
    *,
    level: str,
    measure: str,
    threshold: int,
    attribution: str,
    scheme: str = "quantiles",
    k: int = 5,
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    values: pd.Series | None = None,
    value_label: str | None = None,
) -> folium.Map:
    """Choropleth of one measure at ``level``; small counts and rates on them are greyed out.

    ``values`` (aligned with ``layer``) maps something computed elsewhere, e.g. a change between
    periods; it is masked wherever ``measure`` itself is suppressed.
    """
    m = get_measure(measure)
    data = _with_ward(layer, level)
    mask = suppression_mask(data.drop(columns="geometry"), threshold)
    hide = mask[measure].to_numpy() if measure in mask else np.zeros(len(data), dtype=bool)
    if values is not None:
        data["_value"] = pd.to_numeric(values, errors="coerce").to_numpy()
        column = "_value"
    else:
        column = measure
    data[column] = pd.to_numeric(data[column], errors="coerce").where(~hide)
    fmt = m.fmt if values is None else "{:+,.1f}"
    return choropleth(
        data,
        code_column=f"{level}_code",
        name_column=f"{level}_name",
        value_column=column,
        value_label=value_label or m.label,
        attribution=attribution,
        scheme=scheme,
        k=k,
        palette=m.palette if values is None else "PuRd",
        value_format=fmt,
        outline=outline,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        extra_tooltip_columns=_tooltip_columns(level),
        suppressed_mask=hide,
    )


def need_engagement_map(
    layer: gpd.GeoDataFrame,
    *,
    level: str,
    threshold: int,
    attribution: str,
    need: str = "idaci_pctile",
    engagement: str = "reach_rate",
    outline=None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """The 3x3 bivariate map of need against engagement (tertiles within the authority)."""
    data = _with_ward(layer, level)
    mask = suppression_mask(data.drop(columns="geometry"), threshold)
    hide = mask[engagement].to_numpy() if engagement in mask else np.zeros(len(data), bool)
    return bivariate(
        data,
        code_column=f"{level}_code",
        name_column=f"{level}_name",
        x_column=need,
        y_column=engagement,
        attribution=attribution,
        x_label="Need (IDACI)" if "idaci" in need else "Need",
        y_label="Engagement (families per 1,000 children)",
        outline=outline,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        extra_tooltip_columns=_tooltip_columns(level),
        suppressed_mask=hide,
    )
