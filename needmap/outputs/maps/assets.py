"""Vendored front-end assets: point a folium map at them, or inline them into one HTML file.

Every map needmap draws loads Leaflet from ``needmap/static`` (no CDN link) and nothing else;
:func:`localize_assets` rewrites a map's scripts and stylesheets to the vendored copies and refuses
anything not vendored, so a plugin cannot quietly bring back a network request.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import folium
from branca.element import Element
from folium.elements import JSCSSMixin

from needmap.errors import InputError

#: Folder of vendored front-end assets (see ``needmap/static/README.md``).
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
LEAFLET_DIR = "leaflet-1.9.4"

#: Resource name (as folium names it) -> file under :data:`STATIC_DIR`.
LOCAL_JS: dict[str, str] = {"leaflet": f"{LEAFLET_DIR}/leaflet.js"}
LOCAL_CSS: dict[str, str] = {"leaflet_css": f"{LEAFLET_DIR}/leaflet.css"}

#: folium.Map lists these, but nothing needmap draws uses them (icons, HTML popups).
UNUSED_ASSETS = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

def localize_assets(m: folium.Map, prefix: str = "") -> folium.Map:
    """Point every script and stylesheet the map needs at the vendored copies, in place.

    Each element's ``default_js``/``default_css`` is rewritten by resource name: vendored names
    become ``prefix + path under needmap/static``, names in :data:`UNUSED_ASSETS` are dropped, and
    any other resource raises, so a plugin cannot quietly bring back a CDN request.

    Parameters
    ----------
    m : folium.Map
        Modified in place (folium elements carry their resources as attributes) and returned.
    prefix : str, default ""
        Prepended to the relative path, e.g. the URL under which ``needmap/static`` is served.

    Returns
    -------
    folium.Map
        ``m`` itself.

    Raises
    ------
    InputError
        If an element needs a script or stylesheet that is not vendored.
    """
    for element in _walk(m):
        if isinstance(element, JSCSSMixin):
            element.default_js = _local(element, "default_js", LOCAL_JS, prefix)
            element.default_css = _local(element, "default_css", LOCAL_CSS, prefix)
    return m


_FIXED_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)
ZOOMABLE_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'


def zoomable(header: str) -> str:
    """``header`` with folium's viewport tag (which forbids zooming on a phone, against WCAG
    1.4.4) replaced by one that allows it."""
    return _FIXED_VIEWPORT.sub(ZOOMABLE_VIEWPORT, header)


def standalone_html(m: folium.Map) -> str:
    """Render a map as one HTML file with every script, stylesheet and image inlined.

    The file opens with no network: Leaflet and its CSS (with its images as ``data:`` URIs) are
    embedded. Only a basemap, if the map was built with ``tiles=``, is fetched when viewed.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`choropleth` or :func:`bivariate`, or any folium map that needs only
        Leaflet. Its resource attributes are set to the vendored paths (see
        :func:`localize_assets`).

    Returns
    -------
    str
        A complete HTML document.

    Raises
    ------
    InputError
        If the map needs a script or stylesheet that is not vendored.
    """
    localize_assets(m)
    page = zoomable(m.get_root().render())
    js = {path: name for name, path in LOCAL_JS.items()}
    css = {path: name for name, path in LOCAL_CSS.items()}

    def script(match: re.Match[str]) -> str:
        src = match.group(1)
        if src not in js:
            raise InputError(
                f"The map loads the script {src!r}, which is not vendored in needmap/static, so "
                "the HTML would need a network. Remove the element that adds it, or vendor it "
                "and list it in needmap.maps.LOCAL_JS."
            )
        text = (STATIC_DIR / src).read_text(encoding="utf-8")
        return "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def stylesheet(match: re.Match[str]) -> str:
        href = match.group(1)
        if href not in css:
            raise InputError(
                f"The map loads the stylesheet {href!r}, which is not vendored in needmap/static. "
                "Remove the element that adds it, or vendor it and list it in "
                "needmap.maps.LOCAL_CSS."
            )
        return "<style>" + _inline_css_urls(STATIC_DIR / href) + "</style>"

    page = re.sub(r'<script src="([^"]*)"></script>', script, page)
    return re.sub(r'<link rel="stylesheet" href="([^"]*)"/>', stylesheet, page)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def _local(element: Any, attr: str, table: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    out = []
    for name, url in getattr(element, attr):
        if name in table:
            out.append((name, prefix + table[name]))
        elif name not in UNUSED_ASSETS:
            raise InputError(
                f"{type(element).__name__} needs {name!r} from {url}, which is not vendored in "
                "needmap/static, so the map would need a network. Vendor it (see "
                "needmap/static/README.md) or leave that element out."
            )
    return out


def _inline_css_urls(path: Path) -> str:
    text = path.read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        target = path.parent / match.group(1)
        if not target.is_file():
            return match.group(0)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:{mime};base64,{payload})"

    return re.sub(r"url\((?![#\"'])([^)]+)\)", data_uri, text)



__all__ = ["LEAFLET_DIR", "LOCAL_CSS", "LOCAL_JS", "STATIC_DIR", "localize_assets",
           "standalone_html"]
