"""needmap's Streamlit app: access check, page set-up and navigation; pages live in needmap/app."""

from pathlib import Path

import streamlit as st

from needmap.app import state

PAGES = Path(__file__).parent / "needmap" / "app" / "pages"
ALL_PAGES = {
    "overview": ("Overview", ":material/map:"),
    "off_radar": ("Off the radar", ":material/radar:"),
    "zones": ("Zones", ":material/grid_view:"),
    "my_zone": ("My zone", ":material/person_pin_circle:"),
    "data": ("Data", ":material/description:"),
}

# An emoji favicon is drawn as a data: URL; a ":material/...:" one comes from fonts.gstatic.com.
st.set_page_config(page_title="needmap", page_icon="🗺️", layout="wide")
access = state.current_access()  # stops here with a sign-in button or a refusal
allowed = access.pages()
state.audit_refused_url(list(ALL_PAGES), allowed)
nav = st.navigation(
    [
        st.Page(PAGES / f"{key}.py", title=title, icon=icon, default=key == allowed[0])
        for key, (title, icon) in ALL_PAGES.items()
        if key in allowed
    ]
)
if not access.demo:
    with st.sidebar:
        st.caption(f"Signed in as {access.user} ({access.role})")
        st.button("Sign out", on_click=st.logout)
nav.run()
