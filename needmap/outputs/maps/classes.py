"""Class breaks, palettes and class labels for choropleths (mapclassify under the hood)."""

from __future__ import annotations

import warnings

import mapclassify
import numpy as np
from branca.utilities import color_brewer

from needmap.errors import InputError

SCHEMES = ("quantiles", "natural_breaks", "equal_interval")

SUPPRESSED_COLOUR = "#9e9e9e"  # with the "stripes" pattern on top, never colour alone
NO_DATA_COLOUR = "#e0e0e0"
SUPPRESSED_LABEL = "suppressed"
NO_DATA_LABEL = "no data"

#: The need x engagement key, indexed [engagement class][need class], low to high. Built from
#: ColorBrewer RdBu (and PRGn's purples for "in step"), so it reads for the common colour-vision
#: deficiencies: red where engagement falls short of need, blue where it runs ahead, purple where
#: they agree. High need with low engagement is the darkest, most saturated cell and is hatched
#: too (:data:`SALIENT_CELL`), so it stands out without relying on colour.
BIVARIATE_PALETTE: tuple[tuple[str, ...], ...] = (
    ("#f7f7f7", "#f4a582", "#b2182b"),
    ("#d1e5f0", "#e7d4e8", "#d6604d"),
    ("#4393c3", "#92c5de", "#9970ab"),
)
#: (engagement class, need class) of the cell a service looks for first.
SALIENT_CELL = (0, 2)
TERTILE_NAMES = ("low", "medium", "high")

# Evenly spaced order statistics fed to Fisher-Jenks when there are more values than this; the
# exact algorithm is quadratic and takes over a second for 1,000 values without numba.
_JENKS_SAMPLE = 300


def palette(name: str, k: int) -> list[str]:
    try:
        return list(color_brewer(name, n=k))
    except ValueError as exc:
        raise InputError(
            f"palette {name!r} is not a ColorBrewer palette ({exc}). Use e.g. 'YlOrRd', 'Blues'."
        ) from None


def spread(colours: list[str], n: int) -> list[str]:
    """Pick n colours across the full palette, so 3 classes still run from light to dark."""
    if n >= len(colours) or n == 0:
        return colours[:n]
    idx = np.round(np.linspace(0, len(colours) - 1, n)).astype(int)
    return [colours[i] for i in idx]


#: Need in fixed national fifths: a percentile in England is already a national rank, so these
#: classes mean the same in every zone, on screen (My zone) and on paper (the zone pack).
#: ColorBrewer PuRd, as every need map.
NEED_BREAKS = (20.0, 40.0, 60.0, 80.0, 100.0)
NEED_COLOURS = ("#f1eef6", "#d7b5d8", "#df65b0", "#dd1c77", "#980043")
NEED_LABELS = ("least deprived 20% in England", "20-40%", "40-60%", "60-80%",
               "most deprived 20% in England")


#: A change map: equal classes on both sides of zero, a neutral middle class around it.
DIVERGING = "diverging"


def diverging_breaks(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` (odd) equal classes symmetric about 0, the middle one holding 0."""
    if k % 2 == 0:
        raise InputError(f"a diverging scale needs an odd number of classes, got {k}.")
    top = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    top = top if top > 0 else 1.0
    return np.linspace(-top, top, k + 1)[1:]


def breaks(values: np.ndarray, scheme: str, k: int) -> np.ndarray:
    """Upper bounds of the classes (the last is the maximum); empty when there is nothing."""
    if len(values) == 0:
        return np.array([])
    unique = np.unique(values)
    if len(unique) <= k:
        return unique
    if scheme == "quantiles":
        bins = mapclassify.Quantiles(values, k=k).bins
    elif scheme == "equal_interval":
        bins = mapclassify.EqualInterval(values, k=k).bins
    else:
        sample = np.sort(values)
        if len(sample) > _JENKS_SAMPLE:
            picks = np.round(np.linspace(0, len(sample) - 1, _JENKS_SAMPLE)).astype(int)
            sample = sample[picks]
        with warnings.catch_warnings():
            # Without numba mapclassify warns on every call; the sample keeps it fast anyway.
            warnings.filterwarnings("ignore", message="Numba not installed")
            bins = mapclassify.FisherJenks(sample, k=k).bins
        # A sampled break is the largest *sampled* value of its class; move it to the largest
        # actual value below the midpoint to the next sampled value, so no value in the gap
        # falls into the class above.
        for i, b in enumerate(bins[:-1]):
            mid = (b + sample[sample > b].min()) / 2
            bins[i] = values[values <= mid].max()
        bins[-1] = values.max()
    return np.unique(bins)


def range_labels(values: np.ndarray, bins: np.ndarray, fmt: str) -> list[str]:
    if len(bins) == 0:
        return []
    lows = [values.min(), *bins[:-1]]
    labels = []
    for i, (low, high) in enumerate(zip(lows, bins, strict=True)):
        if low == high:
            labels.append(fmt.format(high))
        elif i == 0:
            labels.append(f"{fmt.format(low)} – {fmt.format(high)}")
        else:
            labels.append(f"> {fmt.format(low)} – {fmt.format(high)}")
    return labels


def tertile(value: float, bins: np.ndarray) -> int:
    """Class 0-2 of a value; with fewer than 3 distinct cut points, spread over low..high."""
    i = int(np.searchsorted(bins, value, side="left"))
    if len(bins) >= 3:
        return min(i, 2)
    return {1: [1], 2: [0, 2]}.get(len(bins), [1])[min(i, len(bins) - 1)]



#: Fill patterns drawn over an area's colour so a class does not rest on colour alone: SVG
#: pattern bodies (for the map) and CSS backgrounds (for legend swatches), same look in both.
PATTERNS = {
    "hatch": ('<path d="M-1,1 l2,-2 M0,8 l8,-8 M7,9 l2,-2" stroke="#ffffff" stroke-width="1.6"/>',
              "repeating-linear-gradient(135deg,transparent 0 3px,#ffffff 3px 4.6px)"),
    "stripes": ('<path d="M-1,1 l2,-2 M0,8 l8,-8 M7,9 l2,-2" stroke="#ffffff" stroke-width="1"/>',
                "repeating-linear-gradient(135deg,transparent 0 4px,#ffffff 4px 5px)"),
    "dots": ('<circle cx="4" cy="4" r="1.4" fill="#333333"/>',
             "radial-gradient(circle at 50% 50%,#333333 0 1.4px,transparent 1.6px) 0 0/8px 8px"),
}


__all__ = ["BIVARIATE_PALETTE", "NEED_BREAKS", "NEED_COLOURS", "NEED_LABELS", "PATTERNS",
           "SALIENT_CELL", "SCHEMES", "TERTILE_NAMES", "breaks", "palette", "range_labels",
           "spread", "tertile"]
