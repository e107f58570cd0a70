"""needmap's Streamlit app: page set-up and navigation only; every page lives in needmap/app."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "needmap" / "app" / "pages"

st.set_page_config(page_title="needmap", page_icon="🗺️", layout="wide")
nav = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon="🗺️", default=True),
        st.Page(PAGES / "off_radar.py", title="Off the radar", icon="🔎"),
        st.Page(PAGES / "zones.py", title="Zones", icon="🧩"),
        st.Page(PAGES / "my_zone.py", title="My zone", icon="📍"),
        st.Page(PAGES / "data.py", title="Data", icon="📄"),
    ]
)
nav.run()
