"""How pages draw what ``needmap.outputs`` returns: tables with plain headings and one format per
kind of figure, and the area picker that gives every area's detail to a keyboard.

Rendering only: no figure is computed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from needmap.outputs.formats import numeric_headings, readable

#: A row tall enough for this many lines lets Streamlit's grid wrap long text (it wraps only
#: when rows are taller than 4 rem).
_LINE_PX, _PAD_PX = 21, 12


def table(
    df: pd.DataFrame,
    *,
    headings: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    widths: Mapping[str, str | int] | None = None,
    wrap_lines: int = 1,
    key: str | None = None,
    height: int | str = "auto",
) -> pd.DataFrame:
    """Show ``df`` under plain headings, figures right-aligned in their one format.

    ``widths`` sets column widths by column name; ``wrap_lines`` above 1 makes rows that tall,
    so long reasons and names wrap instead of being cut off. Returns the table as shown.
    """
    shown = readable(df, headings=headings, kinds=kinds)
    names = dict(zip(df.columns, shown.columns, strict=True))
    config: dict[str, object] = {}
    for heading in numeric_headings(df, headings=headings, kinds=kinds):
        config[heading] = st.column_config.TextColumn(heading, alignment="right")
    for column, width in (widths or {}).items():
        heading = names[column]
        config[heading] = st.column_config.TextColumn(
            heading, width=width,
            alignment="right" if heading in numeric_headings(df, headings=headings, kinds=kinds)
            else None,
        )
    row_height = _LINE_PX * wrap_lines + _PAD_PX if wrap_lines > 1 else None
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config,
                 row_height=row_height, key=key, height=height)
    return shown


def area_picker(
    codes: Sequence[str],
    names: Mapping[str, str],
    *,
    key: str,
    label: str = "Find an area",
    on_pick=None,
) -> str | None:
    """A searchable list of every area (type a name or a code): what a click on the map does,
    for a keyboard or a screen reader. ``on_pick`` runs when the choice changes."""
    return st.selectbox(
        label, list(codes), index=None, key=key, on_change=on_pick,
        format_func=lambda c: f"{names.get(c, c)} ({c})",
        placeholder="Type a name or code, or click the map",
    )


__all__ = ["area_picker", "table"]
