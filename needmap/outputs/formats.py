"""One number format per kind of figure, used by every page, table, pack and CSV label.

Counts with thousands separators (``10,410``), rates to one decimal (``88.4``), shares as whole
percentages (``84%``), percentiles as whole numbers, ratios to two decimals; a hidden figure is
``c`` and a missing one ``-``.
"""

from __future__ import annotations

import math

from needmap.disclosure import SUPPRESSED

MISSING = "-"
KINDS = ("count", "rate", "share", "percentile", "score", "ratio", "change", "number")


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def fmt(value: object, kind: str, *, hidden: bool = False) -> str:
    """A figure as people read it (``kind`` is one of :data:`KINDS`)."""
    if hidden or value == SUPPRESSED:
        return SUPPRESSED
    if isinstance(value, str):
        return value
    if _missing(value):
        return MISSING
    x = float(value)  # type: ignore[arg-type]
    if kind == "count":
        return f"{x:,.0f}"
    if kind == "rate":
        return f"{x:,.1f}"
    if kind == "share":
        return f"{x:.0%}"
    if kind == "percentile":
        return f"{x:,.0f}"
    if kind == "ratio":
        return f"{x:.2f}"
    if kind == "change":
        return f"{x:+,.1f}"
    if kind == "score":
        return f"{x:,.1f}"
    return f"{x:,.1f}"


#: Python format strings for map legends and tooltips, by kind.
FORMAT_STRINGS = {
    "count": "{:,.0f}",
    "rate": "{:,.1f}",
    "share": "{:.0%}",
    "percentile": "{:,.0f}",
    "score": "{:,.1f}",
    "ratio": "{:.2f}",
    "change": "{:+,.1f}",
    "number": "{:,.1f}",
}
