"""The app's one caching module: config, snapshot and display layers, cached per snapshot.

Pages call these and never read files themselves. ``st.session_state`` holds UI choices only.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import streamlit as st

from needmap.config import Config, load_config
from needmap.errors import NeedmapError
from needmap.snapshot import Snapshot, latest_path, load_snapshot

DEMO_BANNER = "demo: no sign-in, synthetic records"


def config_path() -> Path:
    """``NEEDMAP_CONFIG`` if set, else ``needmap.toml`` in the working folder."""
    return Path(os.environ.get("NEEDMAP_CONFIG", "needmap.toml")).resolve()


@st.cache_resource(show_spinner=False)
def _config(path: str, mtime: float) -> Config:
    return load_config(path)


def get_config() -> Config:
    p = config_path()
    return _config(str(p), p.stat().st_mtime if p.exists() else 0.0)


@st.cache_resource(show_spinner=False, max_entries=4)
def _snapshot(path: str) -> Snapshot:
    return load_snapshot(Path(path))


def get_snapshot() -> Snapshot:
    """The current snapshot. Only for synthetic demo records does a first run build it."""
    config = get_config()
    path = latest_path(config.snapshots_folder)
    if path is None and not config.records.synthetic:
        # Real records are read by `needmap refresh` on the analyst's machine, never by the app.
        st.error(f"No snapshot yet in {config.snapshots_folder}. Run `needmap refresh --config "
                 f"{config.source.name}` first; the app reads snapshots only.")
        st.stop()
    if path is None:
        from needmap.refresh import refresh

        with st.spinner("Building the first snapshot from the configured files..."):
            path = refresh(config).snapshot_path
    return _snapshot(str(path))


#: Above this many LSOAs (a region, England) the Overview opens on wards: a browser draws tens of
#: thousands of polygons slowly, and the largest authority has under 1,000 LSOAs.
LSOA_MAP_LIMIT = 2_000


def default_level(snapshot: Snapshot) -> str:
    """The level the Overview opens on: LSOAs for one authority, wards for a larger area."""
    return "lsoa" if len(snapshot.lsoa) <= LSOA_MAP_LIMIT else "ward"


@st.cache_data(show_spinner=False, max_entries=8)
def display_layer(snapshot_id: str, level: str) -> gpd.GeoDataFrame:
    """Simplified EPSG:4326 polygons of one level, with public attributes, cached per snapshot."""
    from needmap.outputs.maps.layers import display_layer as layer

    return layer(get_snapshot(), level)


@st.cache_data(show_spinner=False, max_entries=4)
def outline_layer(snapshot_id: str) -> gpd.GeoDataFrame:
    """The authority outline (the union of its wards) for display."""
    from needmap.outputs.maps.layers import outline_of

    return outline_of(display_layer(snapshot_id, "ward"))


def header(snapshot: Snapshot) -> None:
    """The banner every page shows: demo mode and what the data are."""
    if snapshot.synthetic:
        label = "synthetic records" if auth_configured() else DEMO_BANNER
        st.info(f"**{label}**. {snapshot.authority_name}: real boundaries and "
                f"{snapshot.vintage}; referral and engagement records are synthetic.", icon="ℹ️")


def show_error(exc: NeedmapError) -> None:
    st.error(str(exc))


def level_label(level: str) -> str:
    return {"lsoa": "LSOA (neighbourhood)", "ward": "Ward"}[level]


def save_upload(upload, folder: Path) -> Path:
    """An uploaded file written into ``folder`` under a safe version of its own name.

    The one name sanitiser for uploads: errors then name the file the person chose.
    """
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.name).name).lstrip(".") or "upload.csv"
    path = folder / safe
    path.write_bytes(upload.getvalue())
    return path


def auth_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (configured mode)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: demo mode
        return False


def access_store():
    from needmap.access import AccessStore

    return AccessStore(get_config().plans_db)


def current_access():
    """Who is using the app and what they may see; stops the run with a sign-in button or a
    polite refusal when they may see nothing. Decided on the server before any data loads."""
    from needmap.access import demo_access

    if not auth_configured():
        return demo_access()
    if not st.user.is_logged_in:
        st.title("needmap")
        st.markdown("Sign in with your council account to continue.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    email = str(st.user.get("email") or "")
    store = access_store()
    access = store.access_for(email, get_config().access.roles)
    if st.session_state.get("_audited") != email:
        store.log(email or "(no e-mail)", "sign_in" if access.role else "refused",
                  "" if access.role else "no role")
        st.session_state["_audited"] = email
    if access.role is None:
        st.title("needmap")
        st.warning(f"You are signed in as {email or 'an account without an e-mail'}, but you "
                   "have no role in needmap. Ask your service lead or the needmap "
                   "administrator to add you.")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    return access


def require(page: str):
    """Check the current person may see ``page`` before it loads anything."""
    access = current_access()
    if not access.can_see(page):
        access_store().log(access.user, "refused", f"page {page}")
        st.error("This page is not part of your role in needmap.")
        st.stop()
    return access


def audit(event: str, detail: str = "") -> None:
    """Record an export or a plan save in configured mode (demo mode keeps no log)."""
    access = current_access()
    if not access.demo:
        access_store().log(access.user, event, detail)


@st.cache_resource(show_spinner=False, max_entries=32)
def prepared_map(cache_key: tuple, _build):
    """A map rendered once per choice (snapshot, page, level, measure, ...) and reused on every
    rerun, so a click on a national map does not rebuild it. ``_build`` makes the folium.Map."""
    from needmap.app.offline import prepare_map

    return prepare_map(_build())
