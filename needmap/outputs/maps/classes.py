"""Class breaks, palettes and class labels for choropleths (mapclassify under the hood)."""

from __future__ import annotations

import warnings

import mapclassify
import numpy as np
from branca.utilities import color_brewer

from needmap.errors import InputError

SCHEMES = ("quantiles", "natural_breaks", "equal_interval")

SUPPRESSED_COLOUR = "#9e9e9e"
NO_DATA_COLOUR = "#e0e0e0"
SUPPRESSED_LABEL = "suppressed"
NO_DATA_LABEL = "no data"

#: Joshua Stevens' pink-blue 3x3 scheme, indexed [engagement class][need class], low to high.
BIVARIATE_PALETTE: tuple[tuple[str, ...], ...] = (
    ("#e8e8e8", "#e4acac", "#c85a5a"),
    ("#b0d5df", "#ad9ea5", "#985356"),
    ("#64acbe", "#627f8c", "#574249"),
)
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



__all__ = ["BIVARIATE_PALETTE", "SCHEMES", "TERTILE_NAMES", "breaks", "palette", "range_labels",
           "spread", "tertile"]
