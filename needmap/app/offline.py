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
from dataclasses import dataclass
from typing import Any

import branca.colormap
import folium
import streamlit.components.v1 as components

from needmap.errors import InputError
from needmap.outputs.maps.assets import STATIC_DIR, localize_assets, zoomable
from needmap.outputs.maps.builders import highlight_script

#: What a page needs back from a click: the clicked feature (its ``properties`` and ``id``) and
#: where it was clicked (so a second click on the same area after picking another one counts).
#: Panning and zooming change only other keys, so they do not rerun the page.
CLICK_ONLY = ("last_active_drawing", "last_object_clicked")


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

    The map is rendered as :func:`prepare_map` does (so its header allows zooming on a phone)
    and drawn by :func:`show_prepared`; it always fills the column's width.

    Parameters
    ----------
    m : folium.Map
        A map from :mod:`needmap.maps`. Its resource attributes are rewritten in place (st_folium
        itself also renames the map's elements), so do not share one Map object between sessions.
    key : str
        Streamlit widget key; keep it stable so a rerun does not remount the map.
    height : int, default 600
        Map height in pixels.
    returned_objects : iterable of str, default :data:`CLICK_ONLY`
        st_folium keys that trigger a rerun. The default reruns on a click on an area only;
        ``result["last_active_drawing"]["properties"]`` then holds the clicked area's code.
    use_container_width : bool, default True
        Kept for callers of the st_folium signature; the map always fills the column.

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
    return show_prepared(prepare_map(m), key=key, height=height,
                         returned_objects=returned_objects)


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


@dataclass(frozen=True)
class PreparedMap:
    """What streamlit-folium's component needs to draw a map, rendered once and reusable."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]


def prepare_map(m: folium.Map) -> PreparedMap:
    """Render a map into the strings streamlit-folium sends, with local assets.

    ``st_folium`` re-renders the whole map (twice) and walks every coordinate for its bounds on
    each rerun: seconds for 6,903 wards. These steps are the ones it runs (streamlit-folium
    0.27, pinned), done once so the result can be cached per map choice; the bounds are skipped
    because needmap never asks for them back.
    """
    import streamlit_folium as sf

    if any(isinstance(e, branca.colormap.ColorMap) for e in _walk(m)):
        raise InputError(
            "The map holds a branca colour map; streamlit-folium would load d3 from a CDN for it. "
            "Use the HTML legends of needmap.maps instead."
        )
    localize_assets(m, prefix=assets_url_prefix())
    m.get_root().render()
    html = sf._get_html(m)
    header = zoomable(sf._get_header(m))
    script = sf._get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    for element in _walk(m):
        css += [href for _, href in getattr(element, "default_css", [])]
        js += [src for _, src in getattr(element, "default_js", [])]
    return PreparedMap(
        script=script, header=header, html=html, map_id=sf.get_full_id(m),
        css_links=tuple(dict.fromkeys(css)), js_links=tuple(dict.fromkeys(js)),
    )


def show_prepared(
    prepared: PreparedMap,
    *,
    key: str,
    height: int = 600,
    returned_objects: Iterable[str] = CLICK_ONLY,
    selected: str | None = None,
    version: int = 0,
) -> dict[str, Any]:
    """Draw a prepared map with streamlit-folium's component; returns what ``st_folium`` does.

    ``selected`` is the code of an area to mark as selected; changing it or ``version`` marks it
    again without redrawing the map (streamlit-folium's ``feature_group``). A click marks its
    area in the map itself, so pass the selection that did not come from a click.
    """
    import streamlit as st
    import streamlit_folium as sf

    assets_url_prefix()  # the vendored files must be registered in this run too
    returned = list(returned_objects)
    hash_key = sf.generate_js_hash(prepared.script, key, False)

    def _on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=prepared.script, header=prepared.header, html=prepared.html,
        id=prepared.map_id, key=hash_key, height=height, width=None,
        returned_objects=returned, default={k: None for k in returned}, zoom=None, center=None,
        feature_group=highlight_script(selected, version), return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(prepared.css_links), js_links=list(prepared.js_links),
        on_change=_on_change, wrap_longitude=False,
    )
