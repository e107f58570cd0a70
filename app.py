"""needmap's Streamlit app: page set-up and navigation only; every page lives in needmap/app."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "needmap" / "app" / "pages"

st.set_page_config(page_title="needmap", page_icon=":material/map:", layout="wide")
nav = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/map:", default=True),
        st.Page(PAGES / "off_radar.py", title="Off the radar", icon=":material/radar:"),
        st.Page(PAGES / "zones.py", title="Zones", icon=":material/grid_view:"),
        st.Page(PAGES / "my_zone.py", title="My zone", icon=":material/person_pin_circle:"),
        st.Page(PAGES / "data.py", title="Data", icon=":material/description:"),
    ]
)
nav.run()
