"""HTML legends drawn inside the map (no branca colour map: it would load d3 from a CDN).

Every legend is a ``<details>`` element: open on a wide map, folded to its title on a narrow
one (a phone), and the map fits its areas beside or above it either way (see
``builders._MapSetup``), so a legend never covers an area. Every label is escaped here: legends
show area, zone and worker names that come from files.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from needmap.outputs.maps.classes import (
    BIVARIATE_PALETTE,
    PATTERNS,
    SALIENT_CELL,
    TERTILE_NAMES,
)

#: How each kind of mark looks, and how the legend explains it.
MARK_STYLES = {
    "zone": "font:bold 14px/1 sans-serif;color:#000;background:rgba(255,255,255,0.9);"
            "border:1.5px solid #000;border-radius:10px;padding:2px 5px",
    "base": "font:bold 13px/1 sans-serif;color:#fff;background:#000;border:2px solid #fff;"
            "border-radius:50%;width:20px;height:20px;display:flex;align-items:center;"
            "justify-content:center;box-shadow:0 0 0 1px #000",
    "flag": "font:bold 15px/1 sans-serif;color:#000;background:#fff;border:2px solid #000;"
            "border-radius:3px;padding:1px 5px",
    # Legend only: the badge of a flag that stands for flags too close to show apart.
    "more": "font:bold 10px/13px sans-serif;color:#fff;background:#000;border-radius:7px;"
            "padding:0 3px",
}

#: One legend row: colour, label, number of areas, and an optional pattern name.
Row = tuple[str, str, int] | tuple[str, str, int, str | None]


def swatch(colour: str, size: int = 14, pattern: str | None = None) -> str:
    """A colour (and pattern) sample, hidden from screen readers: the label says it all."""
    background = colour
    if pattern:
        background = f"{PATTERNS[pattern][1]},{colour}"
    return (
        f'<span aria-hidden="true" style="display:inline-block;width:{size}px;height:{size}px;'
        f'background:{background};border:1px solid #555;vertical-align:middle;'
        'margin-right:6px;flex:none"></span>'
    )


_BOX = (
    "background:rgba(255,255,255,0.96);padding:6px 8px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.35);font:12px/1.3 sans-serif;color:#222;"
    "max-width:min(300px,calc(100vw - 70px));max-height:calc(100vh - 60px);overflow:auto"
)
_SUMMARY = "cursor:pointer;font-weight:bold;margin-bottom:2px"


def _details(title: str, body: str, extra_class: str = "") -> str:
    return (
        f'<details class="needmap-legend {extra_class}" open style="{_BOX}">'
        f'<summary style="{_SUMMARY}">{html.escape(title)}</summary>{body}</details>'
    )


def mark_sample(kind: str, text: str) -> str:
    """A mark as drawn on the map, for the legend."""
    return (f'<span aria-hidden="true" style="{MARK_STYLES[kind]};display:inline-flex;'
            f'margin-right:6px;flex:none">{html.escape(text)}</span>')


def legend_html(title: str, rows: Sequence[Row],
                marks: Sequence[tuple[str, str, str]] = ()) -> str:
    """A list legend: one row per class with its swatch, label and count of areas; then one line
    per kind of mark (``(kind, text, label)``)."""
    lines = []
    for row in rows:
        colour, label, n = row[0], row[1], row[2]
        pattern = row[3] if len(row) > 3 else None
        lines.append(
            f'<div class="needmap-legend-row" style="display:flex;align-items:center;'
            f'margin:1px 0">{swatch(colour, pattern=pattern)}<span>{html.escape(label)}'
            f' <span style="color:#555">({n})</span></span></div>'
        )
    for kind, text, label in marks:
        lines.append(f'<div class="needmap-legend-mark" style="display:flex;align-items:center;'
                     f'margin:3px 0">{mark_sample(kind, text)}{html.escape(label)}</div>')
    return _details(title, "".join(lines))


def _ink(colour: str) -> str:
    """Black or white text, whichever reads better on ``colour`` (WCAG relative luminance)."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
              for w, c in zip((0.2126, 0.7152, 0.0722), rgb, strict=True))
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def bivariate_legend_html(
    x_label: str,
    y_label: str,
    x_bins: np.ndarray,
    y_bins: np.ndarray,
    fmt: str,
    grey: Sequence[Row],
    counts: np.ndarray | None = None,
) -> str:
    """The 3x3 key: need across, engagement up, each cell with its number of areas.

    ``counts[y][x]`` is the number of areas in each cell. The salient cell (high need, low
    engagement) is hatched as on the map, and the caption names it in words.
    """
    counts = np.zeros((3, 3), dtype=int) if counts is None else counts
    cell, ticks = 30, ("low", "mid", "high")
    cells = []
    for yc in (2, 1, 0):  # top row is high engagement
        cells.append(
            f'<div style="font-size:11px;text-align:right;padding-right:4px;align-self:center">'
            f"{ticks[yc]}</div>"
        )
        for xc in range(3):
            colour = BIVARIATE_PALETTE[yc][xc]
            tip = f"{x_label}: {TERTILE_NAMES[xc]}, {y_label}: {TERTILE_NAMES[yc]}"
            salient = (yc, xc) == SALIENT_CELL
            background = f"{PATTERNS['hatch'][1]},{colour}" if salient else colour
            n = int(counts[yc][xc])
            cells.append(
                f'<div class="needmap-bivariate-cell" title="{html.escape(tip)}" '
                f'style="width:{cell}px;height:{cell}px;background:{background};'
                f"color:{_ink(colour)};display:flex;align-items:center;justify-content:center;"
                f'font-weight:bold;font-size:12px;{"outline:2px solid #000;" if salient else ""}">'
                f'<span style="background:{colour};padding:0 2px;border-radius:2px">{n}</span>'
                "</div>"
            )
    cells.append("<div></div>")
    cells += [f'<div style="font-size:11px;text-align:center">{t}</div>' for t in ticks]
    grid = (
        f'<div style="display:grid;grid-template-columns:auto repeat(3,{cell}px);gap:2px">'
        + "".join(cells) + "</div>"
    )

    def cuts(bins: np.ndarray) -> str:
        return " and ".join(fmt.format(b) for b in bins[:-1]) if len(bins) > 1 else "n/a"

    x_short, y_short = x_label.split(" (")[0].lower(), y_label.split(" (")[0].lower()

    x_esc, y_esc = html.escape(x_label), html.escape(y_label)
    extra = "".join(
        f'<div style="display:flex;align-items:center;margin-top:2px">'
        f"{swatch(r[0], pattern=r[3] if len(r) > 3 else None)}{html.escape(r[1])}"
        f' <span style="color:#555">&nbsp;({r[2]})</span></div>'
        for r in grey
    )
    body = (
        f'<div style="font-size:12px;margin:2px 0">&uarr; {y_esc}</div>{grid}'
        f'<div style="font-size:12px;text-align:right;margin-top:2px">{x_esc} &rarr;</div>'
        f'<div style="margin-top:4px;display:flex;align-items:center">'
        f'{swatch(BIVARIATE_PALETTE[SALIENT_CELL[0]][SALIENT_CELL[1]], pattern="hatch")}'
        "<b>High need, low engagement</b></div>"
        '<div style="font-size:12px">Red: engagement below need; blue: above it; '
        "purple: in step. Numbers: areas in each cell.</div>"
        f'<div style="color:#555;font-size:12px;margin-top:2px">Thirds cut at '
        f"{html.escape(x_short)} {html.escape(cuts(x_bins))}; {html.escape(y_short)} "
        f"{html.escape(cuts(y_bins))}.</div>{extra}"
    )
    return _details("Need × engagement", body, "needmap-bivariate-legend")


__all__ = ["MARK_STYLES", "Row", "bivariate_legend_html", "legend_html", "mark_sample", "swatch"]
