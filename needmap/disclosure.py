"""Small-number suppression, applied to everything that leaves the package.

The DfE rule by default: a count from 1 to ``threshold`` (5) is shown as ``c``; a rate or share
built on a suppressed count is suppressed too; and secondary suppression hides one more cell
wherever a single hidden cell could be worked back from a total (a column of areas adds up to the
authority total, the referral sources of an area add up to its referrals). Zero is shown: it
discloses nothing about a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from needmap.indicators import COUNT_COLUMNS

SUPPRESSED = "c"

#: Counts that describe people (referred children, engaged families) and may be small.
COUNTS = (*COUNT_COLUMNS, "observed")  # "observed": the radar's count
#: Derived column -> (numerator count, denominator count or None). A share is hidden when its
#: numerator, or the rest of its denominator, is a small count.
DERIVED = {
    "referral_rate": ("referrals", None),
    "nfa_share": ("referrals_nfa", "referrals"),
    "rereferral_share": ("rereferrals", "referrals"),
    "reach_rate": ("families_engaged", None),
    "priority_share": ("priority_families_engaged", "families_engaged"),
    "ratio": ("observed", None),
    "ratio_lower": ("observed", None),
    "ratio_upper": ("observed", None),
    "eb_rate": ("observed", None),
}
#: Columns that add up, within a row, to the first column of the group.
ROW_GROUPS = (
    ("referrals", ("referrals_school", "referrals_police", "referrals_health", "referrals_la",
                   "referrals_self", "referrals_other")),
    ("families_engaged", ("families_early_help", "families_childrens_centre")),
)


def is_small(values: pd.Series | np.ndarray, threshold: int) -> np.ndarray:
    """True for counts from 1 to ``threshold``."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return (v >= 1) & (v <= threshold)


def _secondary(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """If exactly one cell of a set that adds to a shown total is hidden, hide the next smallest.

    The next smallest non-zero shown cell is the least informative one to give up.
    """
    hidden = hidden.copy()
    if hidden.sum() == 1:
        candidates = np.flatnonzero(~hidden & (np.nan_to_num(values) > 0))
        if len(candidates):
            hidden[candidates[np.argmin(values[candidates])]] = True
    return hidden


def suppression_mask(
    df: pd.DataFrame,
    threshold: int,
    *,
    counts: Iterable[str] = COUNTS,
    across: str | None = None,
    totals_shown: bool = True,
) -> pd.DataFrame:
    """Boolean frame: True where a cell must not be shown.

    Parameters
    ----------
    df : DataFrame
        One row per area (and per quarter in quarterly tables).
    threshold : int
        Largest count to hide (DfE: 5). 0 disables suppression.
    across : str, optional
        Column whose groups are separate tables for secondary suppression across areas (e.g.
        ``"quarter"``); None treats all rows as one table.
    totals_shown : bool, default True
        Whether column totals are published (then a single hidden cell in a column is protected
        by hiding another).
    """
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    if threshold <= 0:
        return mask
    count_cols = [c for c in counts if c in df.columns]
    for c in count_cols:
        mask[c] = is_small(df[c], threshold)
    # Within a row: a hidden part of a total that is shown.
    for total, parts in ROW_GROUPS:
        parts = [p for p in parts if p in df.columns]
        if total not in df.columns or not parts:
            continue
        values = np.nan_to_num(df[parts].to_numpy(dtype=float))
        hidden = mask[parts].to_numpy().copy()
        # Rows (areas) with exactly one hidden part of a shown total: hide their next smallest
        # non-zero part too. Vectorised: a national table has thousands of rows.
        lone = (hidden.sum(axis=1) == 1) & ~mask[total].to_numpy()
        candidates = np.where(~hidden & (values > 0), values, np.inf)
        pick = np.argmin(candidates, axis=1)
        ok = lone & np.isfinite(candidates[np.arange(len(df)), pick])
        hidden[np.flatnonzero(ok), pick[ok]] = True
        mask[parts] = hidden
    # Across rows: a hidden area in a column whose total (the authority) is shown.
    if totals_shown and len(df) > 1:
        groups = [df.index] if across is None else df.groupby(across).groups.values()
        for c in count_cols:
            values = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            for idx in groups:
                pos = df.index.get_indexer(idx)
                col = mask[c].to_numpy().copy()
                col[pos] = _secondary(values[pos], col[pos])
                mask[c] = col
    for derived, (num, den) in DERIVED.items():
        if derived not in df.columns or num not in df.columns:
            continue
        hide = mask[num].to_numpy().copy()
        if den is not None and den in df.columns:
            rest = pd.to_numeric(df[den], errors="coerce") - pd.to_numeric(df[num],
                                                                           errors="coerce")
            hide |= is_small(rest, threshold) | mask[den].to_numpy()
        mask[derived] = hide
    return mask


def suppress(
    df: pd.DataFrame,
    threshold: int,
    *,
    across: str | None = None,
    counts: Iterable[str] = COUNTS,
) -> pd.DataFrame:
    """A copy with every suppressed cell replaced by ``"c"`` (columns become text where needed).

    Use for anything a person reads or downloads: tables, CSV exports, zone packs.
    """
    mask = suppression_mask(df, threshold, across=across, counts=counts)
    out = df.copy()
    for c in out.columns:
        if mask[c].any():
            out[c] = out[c].astype(object)
            out.loc[mask[c], c] = SUPPRESSED
    return out


def format_count(value: float | int | None, threshold: int) -> str:
    """One count for a sentence: ``c`` when small, else with thousands separators."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "no data"
    if 1 <= value <= threshold:
        return SUPPRESSED
    return f"{int(value):,}"


def leaked_small_counts(df: pd.DataFrame, threshold: int, columns: Sequence[str] = COUNTS
                        ) -> list[str]:
    """Cells of count columns that show a value from 1 to ``threshold`` (for tests and checks)."""
    found = []
    for c in columns:
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            bad = v[(v >= 1) & (v <= threshold)]
            found += [f"{c}[{i}]={x:g}" for i, x in bad.items()]
    return found


def for_display(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding both numbers and ``c`` become text, so a table widget can show them."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].eq(SUPPRESSED).any():
            out[c] = [
                v if isinstance(v, str) else "" if pd.isna(v)
                else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
                for v in out[c]
            ]
    return out
