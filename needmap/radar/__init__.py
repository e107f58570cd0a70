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
- **False discovery rate on the funnel** (Benjamini & Hochberg 1995, *JRSS B* 57:289; drawn on
  funnel plots by Jones, Ohlssen & Spiegelhalter 2008, *J Clin Epidemiol* 61:232). The limit
  moves with the evidence in the whole authority, so the share of flags that are false stays
  near a stated rate.
- **Empirical-Bayes and fully Bayesian small-area models** (Poisson-gamma; BYM2, Riebler et al.
  2016, *Stat Methods Med Res* 25:1145). They smooth rates well, but a rule on the posterior is
  conservative for moderate shortfalls on moderate expected counts (Richardson et al. 2004,
  *Environ Health Perspect* 112:1016: low sensitivity below a twofold change unless expected
  counts exceed about 50), a unimodal prior pulls exactly the outlying areas back towards the
  mean, and BYM2 needs INLA or MCMC, a heavy dependency for a refresh on a council laptop.
- **Local spatial statistics** (local Moran's I): the old route flagged nothing in 50 runs; on
  the bench's clustered plants, promoting a high-need area on watch to a flag when local Moran
  (999 permutations, FDR 5%) puts it in a low cluster added at most 0.02 recall at the same
  precision, so it is gone (and with it a second of permutations per refresh).

needmap combines the second with the empirical-Bayes *two-groups* model (Efron 2008, *Stat Sci*
23:1): a Poisson-gamma model whose expected counts and spread are fitted with the off-the-radar
areas modelled as their own group (so they neither drag down their own expectation nor inflate
the spread), p-values from the ordinary group, flags by Benjamini-Hochberg at ``fdr`` among
high-need areas, and a flag only where the fitted mixture also makes the area more likely off
the radar than not. Measured on the bench (Oldham's 142 LSOAs, 10 planted high-need areas, 20
seeds per cell; ``bench/radar_accuracy.py`` prints the whole grid): with no spread between
areas and reach 20-40%, recall 0.99 at precision 1.00; with a 20% spread, 0.92-0.95 at
0.97-0.99 (reach 20-40%) and 0.62-0.74 at 0.90-0.91 (reach 40-60%); with a 35% spread and
reach 30-50%, 0.45-0.51 at 0.85-0.88. In every cell recall is within 0.01 of an oracle that
knows every area's true expected count and the true spread, ranking the same areas and flagging
as many; the naive rule finds 0.09-0.37. With nothing planted an authority gets 0.05, 0.2 and
0.35 false flags a run at a 0, 20 and 35% spread. The two noisier cells miss the recall of 0.80
and 0.55 once asked of them: Benjamini-Hochberg at the same rate on the oracle's exact p-values
(nothing estimated) finds 0.72-0.78 and 0.50 there, so that procedure cannot reach them even
with nothing to estimate; only a classifier that also knows how many areas are planted and how
weak they are came near (0.82 at precision 0.83 where 0.80 is asked, with a cut-off chosen over
the runs).

Modules: :mod:`~needmap.radar.model` (the estimator), :mod:`~needmap.radar.decision` (the
decision table and class names), :mod:`~needmap.radar.reasons` (the words and how sure),
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
from needmap.radar.flags import OUTPUT_COLUMNS, funnel_data, radar_flags
from needmap.radar.model import RadarModel
from needmap.radar.naive import naive_flags
from needmap.radar.reasons import band_label

__all__ = [
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
    "funnel_data",
    "naive_flags",
    "radar_flags",
]
