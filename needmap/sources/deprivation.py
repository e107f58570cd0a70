"""Indices of Deprivation at LSOA level, read by column mapping so IoD2025 is a config change.

Also the change in deprivation between two vintages by ward (:func:`read_ward_change`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from needmap.config import DeprivationSource, PreviousDeprivationSource
from needmap.errors import InputError
from needmap.sources.boundaries import GSS
from needmap.sources.tables import ROW, numeric_column, read_table, require_columns

DEPRIVATION_COLUMNS = [
    "lsoa_code",
    "children",
    "population",
    "imd_rank",
    "imd_decile",
    "imd_score",
    "imd_pctile",
    "idaci_rank",
    "idaci_decile",
    "idaci_score",
    "idaci_score_from_rank",
    "idaci_pctile",
]


def rank_to_pctile(rank: pd.Series, national_areas: int) -> pd.Series:
    """National rank (1 = most deprived) -> percentile where 100 = most deprived in England."""
    return 100.0 * (national_areas - rank + 1) / national_areas


def rank_to_decile(rank: pd.Series, national_areas: int) -> pd.Series:
    """National rank -> decile (1 = most deprived 10%), as MHCLG defines it."""
    return np.ceil(10 * rank / national_areas).clip(1, 10)


def fill_score_from_rank(score: pd.Series, rank: pd.Series) -> pd.Series:
    """Fill missing scores by interpolating the score-rank curve of the areas that have both.

    IDACI numerators are suppressed for small counts, so some LSOAs (nearly all in the least
    deprived deciles) have a rank but no score. Ranks are official and complete; interpolating on
    them keeps the area's place in the order. Beyond the range seen, the nearest score is used.
    """
    known = score.notna() & rank.notna()
    if known.sum() < 2 or known.all():
        return score
    order = np.argsort(rank[known].to_numpy())
    xs = rank[known].to_numpy()[order]
    ys = score[known].to_numpy()[order]
    filled = score.copy()
    missing = score.isna() & rank.notna()
    filled[missing] = np.interp(rank[missing].to_numpy(), xs, ys)
    return filled


def read_deprivation(
    source: DeprivationSource, *, authority_code: str | None = None
) -> pd.DataFrame:
    """Read an IoD LSOA table into needmap's columns (see ``DEPRIVATION_COLUMNS``).

    Deciles and scores are optional in the file: deciles are derived from national ranks, a
    missing score column leaves the score blank (maps then use the rank-based percentile).
    """
    path = source.path
    df = read_table(path, sheet=source.sheet)
    needed = {
        "code_column": source.code_column,
        "children_column": source.children_column,
        "population_column": source.population_column,
        "imd_rank_column": source.imd_rank_column,
        "idaci_rank_column": source.idaci_rank_column,
    }
    for key in ("imd_score_column", "idaci_score_column", "imd_decile_column",
                "idaci_decile_column", "authority_column"):
        if getattr(source, key):
            needed[key] = getattr(source, key)
    require_columns(df, needed, path, "deprivation")
    if source.authority_column and authority_code:
        df = df[df[source.authority_column] == authority_code]
        if df.empty:
            raise InputError(
                f"{path}: no row has {source.authority_column} = {authority_code}. Check "
                "[authority] code, or remove authority_column to use every row."
            )
    codes = df[source.code_column]
    bad = ~codes.str.match(GSS)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{path}, row {df[ROW].iloc[i]}, column '{source.code_column}': {codes.iloc[i]!r} "
            "is not an LSOA GSS code (e.g. E01005320)."
        )
    dup = codes.duplicated()
    if dup.any():
        i = dup.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{path}, row {df[ROW].iloc[i]}, column '{source.code_column}': LSOA "
            f"{codes.iloc[i]} appears twice. Keep one row per LSOA."
        )
    n = source.national_areas
    out = pd.DataFrame({"lsoa_code": codes.to_numpy()})
    out["children"] = numeric_column(df, source.children_column, path).to_numpy()
    out["population"] = numeric_column(df, source.population_column, path).to_numpy()
    for index in ("imd", "idaci"):
        rank = numeric_column(df, getattr(source, f"{index}_rank_column"), path).to_numpy()
        out[f"{index}_rank"] = rank
        dcol = getattr(source, f"{index}_decile_column")
        out[f"{index}_decile"] = (
            numeric_column(df, dcol, path).to_numpy()
            if dcol
            else rank_to_decile(pd.Series(rank), n).to_numpy()
        )
        scol = getattr(source, f"{index}_score_column")
        score = (
            numeric_column(df, scol, path, required=False).reset_index(drop=True)
            if scol
            else pd.Series(np.nan, index=out.index)
        )
        if index == "idaci":
            out["idaci_score_from_rank"] = score.isna().to_numpy() & bool(scol)
            score = fill_score_from_rank(score, out["idaci_rank"])
        out[f"{index}_score"] = score.to_numpy()
        out[f"{index}_pctile"] = rank_to_pctile(out[f"{index}_rank"], n)
    too_high = out[["imd_rank", "idaci_rank"]].gt(n).any(axis=1)
    if too_high.any():
        raise InputError(
            f"{path}: a rank is above national_areas = {n} "
            f"(LSOA {out.loc[too_high, 'lsoa_code'].iloc[0]}). "
            "Set [deprivation] national_areas to the number of LSOAs in England for this vintage."
        )
    return out[DEPRIVATION_COLUMNS]


WARD_CHANGE_COLUMNS = [
    "ward_code",
    "imd_pctile_previous",
    "idaci_pctile_previous",
    "imd_pctile_change",
    "idaci_pctile_change",
]


def _ward_mean(values: pd.Series, weights: pd.Series, wards: pd.Series) -> pd.Series:
    ok = values.notna() & weights.gt(0)
    num = (values[ok] * weights[ok]).groupby(wards[ok]).sum()
    return num / weights[ok].groupby(wards[ok]).sum()


def read_ward_change(
    source: PreviousDeprivationSource, current: pd.DataFrame, lookup: pd.DataFrame
) -> pd.DataFrame:
    """The change in national deprivation percentile per current ward, earlier vintage to now.

    Parameters
    ----------
    source : PreviousDeprivationSource
        The earlier vintage (e.g. IoD2019 on LSOA 2011) and its lookup to current LSOAs or wards.
    current : DataFrame
        The current vintage as :func:`read_deprivation` returns it, for the authority's LSOAs.
    lookup : DataFrame
        Current ``lsoa_code`` -> ``ward_code`` (the best fit the maps use).

    Returns
    -------
    DataFrame
        One row per current ward: ``ward_code``, ``imd_pctile_previous``,
        ``idaci_pctile_previous``, ``imd_pctile_change``, ``idaci_pctile_change``.
        A percentile is 100 for the most deprived LSOA in England, so a **positive change means
        the ward is relatively more deprived now** than in the earlier vintage (it moved up
        England's ranking); it says nothing about absolute deprivation.

    Notes
    -----
    Ranks, not scores: scores are not comparable across vintages. Each vintage's ward figure is
    the mean of its LSOAs' percentiles weighted as needmap weights the current ward figures
    (population for IMD, children for IDACI), with the earlier vintage's own population and
    children. An earlier LSOA that the lookup splits into k pieces gives 1/k of its weight to
    each piece (the lookup carries no population for the pieces); pieces outside the authority
    are left out.
    """
    path = source.path
    prev = read_table(path, sheet=source.sheet)
    require_columns(prev, {
        "code_column": source.code_column,
        "imd_rank_column": source.imd_rank_column,
        "idaci_rank_column": source.idaci_rank_column,
        "population_column": source.population_column,
        "children_column": source.children_column,
    }, path, "deprivation_previous")
    look = read_table(source.lookup)
    require_columns(look, {"lookup_from_column": source.lookup_from_column,
                           "lookup_to_column": source.lookup_to_column},
                    source.lookup, "deprivation_previous")
    pieces = look[[source.lookup_from_column, source.lookup_to_column]].drop_duplicates()
    pieces.columns = ["code", "target"]
    pieces["share"] = 1.0 / pieces.groupby("code")["target"].transform("size")
    if source.lookup_to == "lsoa":
        ward_of = lookup.set_index("lsoa_code")["ward_code"]
        pieces["ward_code"] = pieces["target"].map(ward_of)
        target = "LSOA"
    else:
        pieces["ward_code"] = pieces["target"].where(pieces["target"].isin(lookup["ward_code"]))
        target = "ward"
    pieces = pieces.dropna(subset=["ward_code"])
    if pieces.empty:
        raise InputError(
            f"{source.lookup}, column '{source.lookup_to_column}': no row names one of this "
            f"authority's current {target}s (e.g. {lookup[f'{target.lower()}_code'].iloc[0]}). "
            f"Check lookup_to = \"{source.lookup_to}\" and that the lookup reaches the current "
            f"{'LSOA vintage' if target == 'LSOA' else 'wards'}."
        )
    rows = pd.DataFrame({
        "code": prev[source.code_column].to_numpy(),
        "imd_rank": numeric_column(prev, source.imd_rank_column, path).to_numpy(),
        "idaci_rank": numeric_column(prev, source.idaci_rank_column, path).to_numpy(),
        "population": numeric_column(prev, source.population_column, path).to_numpy(),
        "children": numeric_column(prev, source.children_column, path).to_numpy(),
    }).drop_duplicates("code")
    absent = sorted(set(pieces["code"]) - set(rows["code"]))
    if absent:
        raise InputError(
            f"{path}, column '{source.code_column}': {len(absent)} {source.lsoa_vintage} LSOA(s) "
            f"named in {source.lookup.name} have no row, e.g. {', '.join(absent[:3])}. Use the "
            f"complete {source.vintage} table for the LSOAs the lookup names."
        )
    n = source.national_areas
    too_high = rows[["imd_rank", "idaci_rank"]].gt(n).any(axis=1)
    if too_high.any():
        raise InputError(
            f"{path}: a rank is above national_areas = {n} (LSOA "
            f"{rows.loc[too_high, 'code'].iloc[0]}). Set [deprivation_previous] national_areas "
            "to the number of LSOAs in England for that vintage."
        )
    d = pieces.merge(rows, on="code")
    previous = pd.DataFrame({
        "imd_pctile_previous": _ward_mean(rank_to_pctile(d["imd_rank"], n),
                                          d["population"] * d["share"], d["ward_code"]),
        "idaci_pctile_previous": _ward_mean(rank_to_pctile(d["idaci_rank"], n),
                                            d["children"] * d["share"], d["ward_code"]),
    })
    now = current.merge(lookup[["lsoa_code", "ward_code"]], on="lsoa_code")
    out = pd.DataFrame({"ward_code": sorted(lookup["ward_code"].unique())}).set_index("ward_code")
    out = out.join(previous)
    out["imd_pctile_change"] = (
        _ward_mean(now["imd_pctile"], now["population"], now["ward_code"])
        - out["imd_pctile_previous"]
    )
    out["idaci_pctile_change"] = (
        _ward_mean(now["idaci_pctile"], now["children"], now["ward_code"])
        - out["idaci_pctile_previous"]
    )
    return out.reset_index()[WARD_CHANGE_COLUMNS]
