"""Tiny Streamlit app for tests/test_offline_browser.py: the Oldham LSOA map through offline_folium.

Run from the repository root with the repository on PYTHONPATH; prints the clicked LSOA code.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import streamlit as st

from needmap.app.offline import offline_folium
from needmap.outputs.maps.builders import choropleth
from needmap.outputs.maps.geometry import display_geometry

ROOT = Path(__file__).resolve().parents[2]
ATTRIBUTION = "Contains OS data © Crown copyright and database right 2025; ONS; synthetic records"


@st.cache_data
def areas() -> gpd.GeoDataFrame:
    from needmap.config import load_config

    src = load_config(ROOT / "needmap.toml").lsoa
    gdf = gpd.read_parquet(src.path).to_crs(27700)
    gdf = gdf.rename(columns={src.code_column: "lsoa_code", src.name_column: "lsoa_name"})
    gdf["rate"] = np.random.default_rng(7).gamma(2.0, 10.0, len(gdf))
    return display_geometry(gdf)


st.set_page_config(page_title="needmap offline map test", layout="wide")
gdf = areas()
m = choropleth(
    gdf,
    code_column="lsoa_code",
    name_column="lsoa_name",
    value_column="rate",
    value_label="Referrals per 1,000 children",
    attribution=ATTRIBUTION,
)
result = offline_folium(m, key="map", height=520)
feature = (result or {}).get("last_active_drawing")
code = feature["properties"]["lsoa_code"] if feature else "none"
st.text(f"clicked={code}")
