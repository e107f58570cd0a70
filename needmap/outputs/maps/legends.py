"""HTML legends drawn inside the map (no branca colour map: it would load d3 from a CDN).

Every label is escaped here: legends show area, zone and worker names that come from files.
"""

from __future__ import annotations

import html

import numpy as np

from needmap.outputs.maps.classes import BIVARIATE_PALETTE, TERTILE_NAMES


def swatch(colour: str, size: int = 14) -> str:
    return (
        f'<span style="display:inline-block;width:{size}px;height:{size}px;background:{colour};'
        'border:1px solid #777;vertical-align:middle;margin-right:6px"></span>'
    )


_BOX = (
    "background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.4 sans-serif;color:#222"
)


def legend_html(title: str, rows: list[tuple[str, str, int]]) -> str:
    lines = "".join(
        f'<div class="needmap-legend-row">{swatch(c)}{html.escape(label)}'
        f' <span style="color:#666">({n})</span></div>'
        for c, label, n in rows
    )
    return (
        f'<div class="needmap-legend" style="{_BOX}"><div style="font-weight:bold;'
        f'margin-bottom:4px">{html.escape(title)}</div>{lines}</div>'
    )


def bivariate_legend_html(
    x_label: str,
    y_label: str,
    x_bins: np.ndarray,
    y_bins: np.ndarray,
    fmt: str,
    grey: list[tuple[str, str, int]],
) -> str:
    cells = []
    for yc in (2, 1, 0):  # top row is high engagement
        for xc in range(3):
            tip = f"{x_label}: {TERTILE_NAMES[xc]}, {y_label}: {TERTILE_NAMES[yc]}"
            cells.append(
                f'<div class="needmap-bivariate-cell" title="{html.escape(tip)}" '
                f'style="width:18px;height:18px;background:{BIVARIATE_PALETTE[yc][xc]}"></div>'
            )
    grid = (
        '<div style="display:grid;grid-template-columns:repeat(3,18px);gap:1px">'
        + "".join(cells)
        + "</div>"
    )

    def cuts(bins: np.ndarray) -> str:
        return ", ".join(fmt.format(b) for b in bins[:-1]) if len(bins) > 1 else "n/a"

    x_esc, y_esc = html.escape(x_label), html.escape(y_label)
    extra = "".join(
        f"<div>{swatch(c)}{html.escape(label)} <span style='color:#666'>({n})</span></div>"
        for c, label, n in grey
    )
    return (
        f'<div class="needmap-legend needmap-bivariate-legend" style="{_BOX}">'
        '<div style="display:flex;align-items:flex-end;gap:4px">'
        f'<div style="writing-mode:vertical-rl;transform:rotate(180deg)">{y_esc} &rarr;</div>'
        f"<div>{grid}<div>{x_esc} &rarr;</div></div></div>"
        f'<div style="color:#666;margin-top:4px">Tertile cuts: {x_esc} {html.escape(cuts(x_bins))}'
        f"; {y_esc} {html.escape(cuts(y_bins))}</div>{extra}</div>"
    )



__all__ = ["bivariate_legend_html", "legend_html", "swatch"]
