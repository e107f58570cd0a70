"""Show needmap's folium maps in Streamlit with no request leaving the machine.

streamlit-folium's component loads every script a map lists (``default_js``/``default_css``) from
the URL given, by default public CDNs, and draws nothing if one fails. Here the vendored files in
``needmap/static`` are registered as a (never rendered) Streamlit component, which makes Streamlit
serve them at ``<base>/component/needmap.app.offline.assets/<file>``; the map's resources are
pointed there with a path relative to the st_folium iframe, so it works under any
``server.baseUrlPath`` and needs no ``enableStaticServing`` or folder next to ``app.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import branca.colormap
import folium
import streamlit.components.v1 as components
from streamlit_folium import st_folium

from needmap.errors import InputError
from needmap.maps import STATIC_DIR, localize_assets

#: What a page needs back from a click: the clicked feature (its ``properties`` and ``id``).
#: Panning and zooming change only other keys, so they do not rerun the page.
CLICK_ONLY = ("last_active_drawing",)


def assets_url_prefix() -> str:
    """Register the vendored assets with Streamlit and return their URL relative to st_folium.

    Returns
    -------
    str
        ``"../needmap.app.offline.assets/"``: st_folium's iframe is served from
        ``<base>/component/streamlit_folium.st_folium/``, and every registered component's files
        from ``<base>/component/<name>/``.
    """
    # Registration happens only inside a script run (Streamlit needs the run context), and is
    # idempotent, so it is done on every call rather than at import.
    assets = components.declare_component("assets", path=str(STATIC_DIR))
    return f"../{assets.name}/"


def offline_folium(
    m: folium.Map,
    *,
    key: str,
    height: int = 600,
    returned_objects: Iterable[str] = CLICK_ONLY,
    use_container_width: bool = True,
) -> dict[str, Any]:
    """Render a map with streamlit-folium, loading Leaflet from the vendored copy.

    Parameters
    ----------
    m : folium.Map
        A map from :mod:`needmap.maps`. Its resource attributes are rewritten in place (st_folium
        itself also renames the map's elements), so do not share one Map object between sessions.
    key : str
        Streamlit widget key; keep it stable so a rerun does not remount the map.
    height : int, default 600
        Map height in pixels.
    returned_objects : iterable of str, default ``("last_active_drawing",)``
        st_folium keys that trigger a rerun. The default reruns on a click on an area only;
        ``result["last_active_drawing"]["properties"]`` then holds the clicked area's code.
    use_container_width : bool, default True
        Fill the width of the column.

    Returns
    -------
    dict
        st_folium's return value, restricted to ``returned_objects``.

    Raises
    ------
    InputError
        If the map holds an element whose scripts are not vendored (streamlit-folium adds d3
        from a CDN for any branca colour map, so those are refused too).
    """
    if any(isinstance(e, branca.colormap.ColorMap) for e in _walk(m)):
        raise InputError(
            "The map holds a branca colour map; streamlit-folium would load d3 from a CDN for it. "
            "Use the HTML legends of needmap.maps instead."
        )
    localize_assets(m, prefix=assets_url_prefix())
    return st_folium(
        m,
        key=key,
        height=height,
        returned_objects=list(returned_objects),
        use_container_width=use_container_width,
    )


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)
