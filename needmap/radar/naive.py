"""The naive rule the radar is benchmarked against: top need and bottom rate quantile."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from needmap.errors import ConfigError
from needmap.radar.model import LEVEL_COLUMNS, _validate

__all__ = ["naive_flags"]


def naive_flags(
    areas: pd.DataFrame,
    *,
    level: Literal["lsoa", "ward"] = "lsoa",
    measure: str = "families_engaged",
    need: str = "idaci_score",
    exposure: str = "children",
    quantiles: int = 5,
) -> pd.Series:
    """Flag areas in the authority's top need ``quantiles``-tile and bottom rate one.

    An area is flagged when its need is in the top ``quantiles``-tile and its rate
    (``measure / exposure``) in the bottom one, with no allowance for chance or size.

    Returns
    -------
    pandas.Series
        Boolean, indexed by area code, named ``naive_flag``.
    """
    if level not in LEVEL_COLUMNS:
        raise ConfigError(f"level must be one of {', '.join(LEVEL_COLUMNS)}; got {level!r}")
    code, _ = LEVEL_COLUMNS[level]
    table = _validate(areas, code=code, name=None, numeric=[exposure, need, measure], level=level)
    rate = table[measure] / table[exposure].where(table[exposure] > 0)
    q = 1.0 / quantiles
    flag = (table[need] >= table[need].quantile(1.0 - q)) & (rate <= rate.quantile(q))
    return pd.Series(flag.to_numpy(), index=pd.Index(table[code], name="area_code"),
                     name="naive_flag")  # fmt: skip
