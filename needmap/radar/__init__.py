"""Off the radar: areas whose engagement (or referrals) falls far from what their need predicts.

For each area a model fitted on the published counts gives an *expected* count from need and
the usual spread around it; an area is flagged when its count falls beyond a limit chosen to
hold the false discovery rate, and every flag says in words why and how sure it is.

Why this method
---------------
The radar must find most truly under-reached areas while leaving a lead able to trust a flag,
on counts that vary between areas far more than chance alone (a 15-35% coefficient of variation
of reach between neighbourhoods is usual). The literature offers four families of answer:

- **Funnel limits at a fixed level** (Spiegelhalter 2005, *Stat Med* 24:1185), with
  over-dispersion as an additive random effect (Spiegelhalter 2005, *Qual Saf Health Care*
  14:347). Honest about the spread, but a fixed 99.8% limit is a per-area error rate, not a
  rate among flags: needmap's old rule found 0.34 of planted areas at a 20% spread and 40-60%
  reach, most left on "watch".
- **False discovery rate on the funnel** (Benjamini & Hochberg 1995; drawn on funnel plots by
  Jones, Ohlssen & Spiegelhalter 2008, *J Clin Epidemiol* 61:232). The limit moves with the
  evidence in the whole authority, so the share of flags that are false stays near a stated
  rate: "about 8 in 10 flags are real" at 20%.
- **Empirical-Bayes and fully Bayesian small-area models** (Poisson-gamma; BYM2, Riebler et al.
  2016, *Stat Methods Med Res* 25:1145). They smooth rates well, but a decision rule on the
  posterior is conservative for moderate shortfalls on moderate expected counts: Richardson et
  al. (2004, *Environ Health Perspect* 112:1016) found low sensitivity below a twofold change
  unless expected counts exceed about 50, and a unimodal prior pulls exactly the outlying areas
  the radar looks for back towards the mean. Fitting BYM2 also needs INLA or MCMC, a heavy
  dependency for a refresh that must run on a council laptop.
- **Local spatial statistics** (local Moran's I): the old route flagged nothing in 50 runs; on
  clustered plants the bench measures whether it adds anything (it did not: see the bench).

needmap takes the second, on the over-dispersed model of the first: p-values from a
Poisson-gamma (negative binomial) model whose between-area variance is estimated robustly, and
flags chosen by Benjamini-Hochberg at ``fdr`` among the high-need areas. On the bench (Oldham's
141 LSOAs, 10 planted areas, 20 seeds per cell) this finds ... (figures in
``bench/radar_accuracy.py``'s closing table and ``docs/indicators.md``).

Modules: :mod:`~needmap.radar.model` (the estimator), :mod:`~needmap.radar.decision` (the
decision table and class names), :mod:`~needmap.radar.reasons` (the words),
:mod:`~needmap.radar.flags` (the published table), :mod:`~needmap.radar.naive` (the baseline).
"""

from needmap.radar.decision import (
    FLAG_AS_EXPECTED,
    FLAG_COLOURS,
    FLAG_FRONT_DOOR,
    FLAG_HIDDEN_NEED,
    FLAG_OFF_RADAR,
    FLAG_TOO_FEW,
    FLAG_WATCH,
    FLAG_WELL_REACHED,
)
from needmap.radar.flags import (
    CSV_COLUMNS,
    OUTPUT_COLUMNS,
    flags_table,
    funnel_data,
    radar_flags,
)
from needmap.radar.model import RadarModel
from needmap.radar.naive import naive_flags
from needmap.radar.reasons import band_label

__all__ = [
    "CSV_COLUMNS",
    "FLAG_AS_EXPECTED",
    "FLAG_COLOURS",
    "FLAG_FRONT_DOOR",
    "FLAG_HIDDEN_NEED",
    "FLAG_OFF_RADAR",
    "FLAG_TOO_FEW",
    "FLAG_WATCH",
    "FLAG_WELL_REACHED",
    "OUTPUT_COLUMNS",
    "RadarModel",
    "band_label",
    "flags_table",
    "funnel_data",
    "naive_flags",
    "radar_flags",
]
