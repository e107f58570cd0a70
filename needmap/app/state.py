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


@st.cache_data(show_spinner=False, max_entries=2)
def _postcodes(path: str, mtime: float):
    from needmap.sources.geocode import read_postcodes

    return read_postcodes(get_config().postcodes)


def postcodes():
    """The configured postcode table (to place worker bases), or None; cached per file."""
    source = get_config().postcodes
    if source is None:
        return None
    path = Path(source.path)
    return _postcodes(str(path), path.stat().st_mtime if path.exists() else 0.0)


@st.cache_resource(show_spinner=False, max_entries=4)
def suggested_plan(snapshot_id: str, level: str):
    """The plan the config's [zones] defaults make (staff count, workload, seed, tolerance):
    what My zone shows a lead before any plan is saved. Not saved, and never shown to staff."""
    from needmap.workload import plan_zones

    zones = get_config().zones
    return plan_zones(get_snapshot(), level=level, measure=zones.workload, n_zones=zones.staff,
                      random_state=zones.seed, tolerance=zones.tolerance)


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
    mode = auth_mode()
    if mode.kind == "open":
        st.warning(f"**{mode.message}**. Anyone who can reach this app sees every page.")
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


def auth_mode():
    """How the app runs: demo, sign-in, open (explicitly allowed) or a configuration error."""
    from streamlit import config as st_config

    from needmap.access import auth_mode as decide

    config = get_config()
    return decide(list(st_config.get_option("secrets.files")),
                  synthetic=config.records.synthetic,
                  allow_unauthenticated=config.access.allow_unauthenticated)


def auth_configured() -> bool:
    """True when people sign in (an ``[auth]`` section with every required key)."""
    return auth_mode().kind == "signin"


def access_store():
    from needmap.access import AccessStore

    path = get_config().plans_db
    path.parent.mkdir(parents=True, exist_ok=True)  # needmap's own output folder
    return AccessStore(path)


def current_access():
    """Who is using the app and what they may see; stops the run with a sign-in button or a
    polite refusal when they may see nothing. Decided on the server before any data loads."""
    from needmap.access import demo_access

    mode = auth_mode()
    if mode.kind == "error":
        # Fail closed: a broken or missing sign-in set-up never falls back to an open app.
        st.title("needmap")
        st.error(f"needmap is not configured correctly: {mode.message}")
        if st.session_state.get("_config_error_logged") != mode.message:
            try:
                access_store().log("(server)", "config_error", mode.message[:200])
            except NeedmapError:
                pass
            st.session_state["_config_error_logged"] = mode.message
        st.stop()
    if mode.kind in ("demo", "open"):
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


def audit_refused_url(pages: list[str], allowed: list[str]) -> None:
    """Log a visit to a page's address that the person's role does not include (once a session).

    Navigation only lists allowed pages, so such a visit lands on the person's own page; the
    attempt is still written to the audit log.
    """
    from urllib.parse import urlparse

    access = current_access()
    if access.demo:
        return
    try:
        requested = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    except Exception:  # noqa: BLE001 - no browser context (tests)
        return
    seen = st.session_state.setdefault("_refused_urls", set())
    if requested in pages and requested not in allowed and requested not in seen:
        access_store().log(access.user, "refused", f"page {requested} (by address)")
        seen.add(requested)


def audit(event: str, detail: str = "") -> None:
    """Record an export or a plan save in configured mode (demo mode keeps no log)."""
    access = current_access()
    if not access.demo:
        access_store().log(access.user, event, detail)


def download(label: str, make, *, file_name: str, mime: str, key: str,
             type: str = "secondary") -> None:
    """A download made when it is clicked, audited then, and served once.

    Streamlit serves download files from its media endpoint to anyone with the address, without
    a cookie. Here the file does not exist until the signed-in person clicks (the click travels
    over their own session's websocket); it is written to the audit log as it is made; and the
    media storage forgets it after its first fetch (``single_use_downloads``), so the address read
    from the page's traffic returns 404 to anyone else.
    """
    single_use_downloads()
    access = current_access()
    store_path = get_config().plans_db

    def generate():
        data = make()
        if not access.demo:
            from needmap.access import AccessStore

            AccessStore(store_path).log(access.user, "export", file_name)
        return data

    st.download_button(label, generate, file_name=file_name, mime=mime, key=key,
                       on_click="ignore", type=type)


def single_use_downloads() -> None:
    """Make the media storage forget a download file after its first fetch (idempotent).

    Hand-written because Streamlit has no option for it; it wraps the storage object's
    ``get_file`` (used by the ``/media`` route), not Streamlit's classes, and leaves images and
    other media alone. Tested against Streamlit 1.67 by ``tests/test_signin_browser.py``.
    """
    import os
    import threading

    from streamlit import runtime
    from streamlit.runtime.media_file_storage import MediaFileKind

    if not runtime.exists():
        return
    storage = runtime.get_instance().media_file_mgr._storage
    if getattr(storage, "_needmap_single_use", False) or not hasattr(storage, "delete_file"):
        return
    internal = threading.local()
    get_file, get_url = storage.get_file, storage.get_url

    def url_of(file_id: str) -> str:
        internal.active = True
        try:
            return get_url(file_id)
        finally:
            internal.active = False

    def fetch_once(filename: str):
        found = get_file(filename)
        if found.kind == MediaFileKind.DOWNLOADABLE and not getattr(internal, "active", False):
            storage.delete_file(os.path.splitext(filename)[0])
        return found

    storage.get_file, storage.get_url = fetch_once, url_of
    storage._needmap_single_use = True


@st.cache_resource(show_spinner=False, max_entries=32)
def prepared_map(cache_key: tuple, _build):
    """A map rendered once per choice (snapshot, page, level, measure, ...) and reused on every
    rerun, so a click on a national map does not rebuild it. ``_build`` makes the folium.Map."""
    from needmap.app.offline import prepare_map

    return prepare_map(_build())
