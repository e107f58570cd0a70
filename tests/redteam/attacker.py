"""An integer-programming attacker: how far can published cells and public identities pin
hidden counts?

The attacker knows what anyone reading needmap's outputs knows: the published cells (a value, or
``c`` for a hidden count), the method that turned true counts into published values (as a
function ``bounds(published) -> (lo, hi)`` giving the true values a published value can come
from), and identities that hold between the *true* values because of public structure (which
LSOA lies in which ward, which quarters make up a year, which breakdowns add up). For every
hidden cell it asks for the smallest and largest true value over all non-negative integer
solutions of those constraints. A hidden cell whose smallest and largest values agree is
**pinned**: the attacker knows it exactly.

Why a solver loop of our own rather than one ``scipy.optimize.milp`` call per cell: a release
set has 10,000 to 35,000 unknowns and 2,000 to 15,000 hidden cells; two integer programmes per
cell over the whole set cost hours (measured: one LP over the largest component of a perturbed
demo export, 16,700 unknowns, takes 12 to 100 s here). The work is cut into steps, each sound:
it never drops a true solution, so every range it reports holds the truth.

1. *Bound propagation* (the activity-based domain propagation of MIP presolvers) with integer
   rounding: cheap, and alone it pins most of what plain differencing pins.
2. *Presolve*: fixed unknowns become constants; rows implied by the bounds are dropped; an
   unknown that is not a target and appears in one row only, with coefficient +-1 (a ward's
   unlocated rest, an unpublished breakdown), is projected out, which for +-1 coefficients and
   integer bounds keeps the integer solutions exactly.
3. *Connected components* of what is left, each solved on its own.
4. A component of at most ``global_limit`` unknowns is solved whole, as one HiGHS model whose
   objective moves from cell to cell (each solve starts from the previous basis). Integer
   solutions met on the way (an integral LP vertex, a MIP's point) are *witnesses*: each
   target's value in one is attainable, so where a witness meets a proven bound that end of the
   range needs no solve. A few objectives over all targets at once (all down, all up, random
   signs) give many witnesses for one solve each. The LP range ``[ceil(min), floor(max)]``
   holds every integer solution; where it is at most ``mip_width`` wide and not yet exact,
   integrality could pin the cell and MIPs decide it value by value.
5. A larger component is solved *locally*, from one known integer solution (the truth when it
   is given and satisfies everything, else a MIP's feasible point). For a cell ``j``: the
   *restriction* to its ``cap`` nearest unknowns (all others held at the known solution) is a
   MIP whose solutions are whole solutions, so a solution with ``j`` below or above its known
   value proves ``j`` not pinned (and proves it for every other cell that moved: the other
   cells are pushed at random, so one solve settles many). A cell the restriction cannot move
   gets *relaxations* (only the rows near it, their other unknowns free within bounds), LP and
   then MIP, whose ranges hold the whole one, so a point there proves it pinned. A cell
   neither settles is reported as undecided: on the perturbed demo export (16,700 unknowns in
   one component) restrictions settle a cell in about 0.1 s and many at once, where one LP over
   the whole took 12 to 100 s.

Using the truth as the known solution makes nothing easier for the attacker: it only saves the
search for a first solution, and the ranges are what the constraints allow, whoever computes
them. The report counts truths outside their range (a wrong identity or ``bounds``) and pins
that disagree with the truth; both must be zero.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

import highspy
import numpy as np
from scipy import sparse

Key = Hashable
INF = math.inf
#: Rounding tolerance for values from a solver (HiGHS' feasibility tolerance is 1e-7).
TOL = 1e-5


@dataclass(frozen=True)
class Cell:
    """One published cell: the true value it shows (``key``) and what was published.

    ``key`` names the unknown, not the publication: the same area, period and measure published
    in two outputs or two releases is two cells with one key.
    """

    key: Key
    value: object
    source: str = ""


@dataclass(frozen=True)
class Identity:
    """``lo <= sum(coef * true[key]) <= hi`` for the true values; coefficients are +-1."""

    terms: tuple[tuple[Key, int], ...]
    lo: float = 0.0
    hi: float = 0.0
    name: str = ""

    @classmethod
    def total(cls, total: Key, parts: Iterable[Key], name: str = "") -> Identity:
        """``total = sum(parts)``."""
        return cls(((total, 1), *((p, -1) for p in parts)), 0.0, 0.0, name)

    @classmethod
    def at_most(cls, part: Key, whole: Key, name: str = "") -> Identity:
        """``part <= whole``."""
        return cls(((part, 1), (whole, -1)), -INF, 0.0, name)

    @classmethod
    def at_most_sum(cls, whole: Key, parts: Iterable[Key], name: str = "") -> Identity:
        """``whole <= sum(parts)`` (a distinct count is at most the sum of its parts' counts)."""
        return cls(((whole, 1), *((p, -1) for p in parts)), -INF, 0.0, name)

    def keys(self) -> list[Key]:
        return [k for k, _ in self.terms]

    def holds(self, truth: Mapping[Key, float]) -> bool | None:
        """Whether the identity holds on ``truth``; None when a value is missing."""
        total = 0.0
        for k, a in self.terms:
            if k not in truth:
                return None
            total += a * truth[k]
        return self.lo - 1e-9 <= total <= self.hi + 1e-9


@dataclass
class AttackReport:
    """What the attacker learned about each hidden cell.

    Attributes
    ----------
    ranges : dict
        Hidden key -> ``(lo, hi)``, proven bounds of its true value over every integer solution
        (``hi`` may be ``inf``). ``lo == hi`` is a pin. Exact where the whole component was
        solved; an outer bound where it was solved locally.
    attained : dict
        Hidden key -> ``(lo, hi)``, smallest and largest value seen in integer solutions found
        (each value is possible). ``lo < hi`` proves the cell is not pinned.
    undecided : set
        Hidden keys neither proven pinned nor proven to have two possible values, within the
        solver's limits.
    truth : dict or None
        Hidden key -> true value, when known.
    shown_elsewhere : set
        Hidden keys that another published cell shows exactly.
    seconds : float
    stats : dict
        Sizes and solver calls, for the benchmark.
    """

    ranges: dict[Key, tuple[float, float]]
    attained: dict[Key, tuple[float, float]] = field(default_factory=dict)
    undecided: set[Key] = field(default_factory=set)
    truth: dict[Key, int] | None = None
    shown_elsewhere: set[Key] = field(default_factory=set)
    seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def hidden(self) -> int:
        return len(self.ranges)

    @property
    def pinned(self) -> list[Key]:
        return [k for k, (lo, hi) in self.ranges.items() if lo == hi]

    @property
    def pinned_wrongly(self) -> list[Key]:
        if self.truth is None:
            return []
        return [k for k in self.pinned if k in self.truth and self.ranges[k][0] != self.truth[k]]

    @property
    def disclosed(self) -> list[Key]:
        """Pinned cells that hold someone: true value not 0 (unknown truth counts as held).

        Proving an empty hidden cell empty says nothing about a person.
        """
        truth = self.truth or {}
        return [k for k in self.pinned if truth.get(k) != 0]

    @property
    def undecided_held(self) -> set[Key]:
        """Undecided cells whose true value is not 0 (unknown truth counts as held)."""
        truth = self.truth or {}
        return {k for k in self.undecided if truth.get(k) != 0}

    @property
    def narrowed(self) -> list[Key]:
        """Hidden cells proven to have at most two possible values (pinned ones included)."""
        return [k for k, (lo, hi) in self.ranges.items() if hi - lo <= 1]

    @property
    def violations(self) -> list[Key]:
        """Hidden cells whose true value lies outside the range found (must be none)."""
        if self.truth is None:
            return []
        return [k for k, (lo, hi) in self.ranges.items()
                if k in self.truth and not lo <= self.truth[k] <= hi]

    @property
    def mean_width(self) -> float:
        """Mean of ``hi - lo`` over the finite ranges (an upper bound where solved locally)."""
        widths = [hi - lo for lo, hi in self.ranges.values() if hi < INF]
        return float(np.mean(widths)) if widths else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "hidden": self.hidden,
            "pinned": len(self.pinned),
            "pinned_wrongly": len(self.pinned_wrongly),
            "disclosed": len(self.disclosed),
            "narrowed_to_2": len(self.narrowed),
            "mean_width": round(self.mean_width, 2),
            "undecided": len(self.undecided),
            "undecided_held": len(self.undecided_held),
            "unbounded": sum(hi == INF for _, hi in self.ranges.values()),
            "seconds": round(self.seconds, 2),
        }


class InconsistentPublication(AssertionError):
    """The published cells and identities admit no solution: a wrong identity or bound."""


def attack(
    cells: Iterable[Cell],
    identities: Iterable[Identity],
    bounds: Callable[[object], tuple[float | None, float | None]],
    *,
    hidden: Callable[[object], bool] = lambda v: isinstance(v, str),
    truth: Mapping[Key, int] | None = None,
    mip_width: int = 2,
    mip_time_limit: float = 10.0,
    global_limit: int = 3000,
    local_caps: tuple[int, ...] = (2000, 6000),
    time_budget: float | None = None,
) -> AttackReport:
    """Bounds on the true value of every hidden cell over all integer solutions.

    Parameters
    ----------
    cells : iterable of Cell
        Everything published. Cells sharing a key show the same true value.
    identities : iterable of Identity
        Linear relations between true values. Keys not published are unknowns too.
    bounds : callable
        Published value -> ``(lo, hi)`` of the true values it can come from (None: unbounded).
        Every true value is also a non-negative integer.
    hidden : callable
        Which published values are hidden cells (default: any text, e.g. ``"c"``).
    truth : mapping, optional
        True values, to score the attack (and as the known solution of local solving).
    mip_width : int
        Decide by MIP where the LP leaves at most this many values more than one.
    mip_time_limit : float
        Seconds per MIP; on time-out the cell stays as the LP left it, and undecided.
    global_limit : int
        Largest component solved whole; larger ones are solved locally.
    local_caps : tuple of int
        Unknowns in the restrictions of local solving, tried in turn.
    time_budget : float, optional
        Seconds for the solving; cells not reached by then are undecided.

    Returns
    -------
    AttackReport
    """
    t0 = time.perf_counter()
    problem = _Problem()
    targets: set[int] = set()
    exact: set[int] = set()
    for cell in cells:
        j = problem.var(cell.key)
        lo, hi = bounds(cell.value)
        problem.tighten(j, 0.0 if lo is None else lo, INF if hi is None else hi, cell)
        if hidden(cell.value):
            targets.add(j)
        elif lo is not None and lo == hi:
            exact.add(j)
    for ident in identities:
        problem.row(ident)
    state = _State(problem, mip_width, mip_time_limit,
                   None if time_budget is None else t0 + time_budget)
    state.stats.update(unknowns=len(problem.keys), identities=len(problem.rows),
                       targets=len(targets))
    problem.propagate()
    state.stats["fixed_by_propagation"] = sum(problem.lo[j] == problem.hi[j] for j in targets)
    live = {j for j in targets if problem.lo[j] < problem.hi[j]}
    comps = problem.reduce(live)
    state.stats["components"] = len(comps)
    state.stats["largest_component"] = max((len(c[0]) for c in comps), default=0)
    reference = None if truth is None else {
        j: float(truth[k]) for j, k in enumerate(problem.keys) if k in truth}
    for cols, rows in sorted(comps, key=lambda c: len(c[0])):
        if not rows:  # only the box: nothing to learn beyond the bounds
            continue
        comp = _Component(problem, cols, rows)
        wanted = [i for i, j in enumerate(cols) if j in live]
        if len(cols) <= global_limit:
            _solve_whole(state, comp, wanted)
        else:
            _solve_locally(state, comp, wanted, reference, caps=local_caps)
    keys = problem.keys
    return AttackReport(
        ranges={keys[j]: (problem.lo[j], problem.hi[j]) for j in sorted(targets)},
        attained={keys[j]: v for j, v in sorted(state.attained.items()) if j in targets},
        undecided={keys[j] for j in state.undecided if problem.lo[j] < problem.hi[j]},
        truth=None if truth is None else {keys[j]: truth[keys[j]] for j in targets
                                          if keys[j] in truth},
        shown_elsewhere={keys[j] for j in targets & exact},
        seconds=time.perf_counter() - t0,
        stats=state.stats,
    )


class _Problem:
    """Unknowns with integer bounds and +-1 rows, with propagation and presolve."""

    def __init__(self) -> None:
        self.index: dict[Key, int] = {}
        self.keys: list[Key] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.rows: list[tuple[list[int], list[int], float, float, str]] = []
        self.col_rows: list[list[int]] = []

    def var(self, key: Key) -> int:
        j = self.index.get(key)
        if j is None:
            j = self.index[key] = len(self.keys)
            self.keys.append(key)
            self.lo.append(0.0)
            self.hi.append(INF)
            self.col_rows.append([])
        return j

    def tighten(self, j: int, lo: float, hi: float, why: object = None) -> bool:
        # Solver optima carry tolerances of about 1e-7: 1.9999999 is 2, not 1.
        lo, hi = math.ceil(lo - TOL), (hi if hi == INF else math.floor(hi + TOL))
        changed = False
        if lo > self.lo[j]:
            self.lo[j], changed = float(lo), True
        if hi < self.hi[j]:
            self.hi[j], changed = float(hi), True
        if self.lo[j] > self.hi[j]:
            raise InconsistentPublication(
                f"No true value of {self.keys[j]} fits: range [{self.lo[j]}, {self.hi[j]}] "
                f"(last from {why!r})."
            )
        return changed

    def row(self, ident: Identity) -> None:
        acc: dict[int, int] = defaultdict(int)
        for k, a in ident.terms:
            if a not in (1, -1):
                raise ValueError(f"identity {ident.name!r}: coefficients must be +-1, got {a}")
            acc[self.var(k)] += a
        cols = [j for j, a in acc.items() if a]
        if any(abs(acc[j]) != 1 for j in cols):
            raise ValueError(f"identity {ident.name!r} names one unknown twice")
        r = len(self.rows)
        self.rows.append((cols, [acc[j] for j in cols], ident.lo, ident.hi, ident.name))
        for j in cols:
            self.col_rows[j].append(r)

    # -- bound propagation ----------------------------------------------------------------

    def propagate(self, max_visits_per_row: int = 200) -> None:
        """Tighten bounds from every row until nothing changes (or a visit cap is hit)."""
        queue = deque(range(len(self.rows)))
        queued = [True] * len(self.rows)
        visits = [0] * len(self.rows)
        while queue:
            r = queue.popleft()
            queued[r] = False
            visits[r] += 1
            if visits[r] > max_visits_per_row:
                continue
            for j in self._propagate_row(r):
                for r2 in self.col_rows[j]:
                    if not queued[r2]:
                        queued[r2] = True
                        queue.append(r2)

    def _propagate_row(self, r: int) -> list[int]:
        cols, coefs, rlo, rhi, name = self.rows[r]
        lo, hi = self.lo, self.hi
        # Activity bounds, counting infinite terms apart so each "rest" can be formed.
        # Each term's (min, max) of a * x, taken once: the rests below subtract these same values.
        terms = [(lo[j], hi[j]) if a > 0 else (-hi[j], -lo[j])
                 for j, a in zip(cols, coefs, strict=True)]
        min_fin = max_fin = 0.0
        min_inf = max_inf = 0
        for mn, mx in terms:
            if mn == -INF:
                min_inf += 1
            else:
                min_fin += mn
            if mx == INF:
                max_inf += 1
            else:
                max_fin += mx
        if (min_inf == 0 and min_fin > rhi + 1e-9) or (max_inf == 0 and max_fin < rlo - 1e-9):
            raise InconsistentPublication(f"identity {name!r} cannot hold within the bounds")
        changed = []
        for j, a, (mn, mx) in zip(cols, coefs, terms, strict=True):
            # min activity of the other terms
            if mn == -INF:
                rest_min = min_fin if min_inf == 1 else -INF
            else:
                rest_min = min_fin - mn if min_inf == 0 else -INF
            if mx == INF:
                rest_max = max_fin if max_inf == 1 else INF
            else:
                rest_max = max_fin - mx if max_inf == 0 else INF
            # a * x <= rhi - rest_min and a * x >= rlo - rest_max
            up = rhi - rest_min if rest_min > -INF and rhi < INF else INF
            down = rlo - rest_max if rest_max < INF and rlo > -INF else -INF
            new_lo, new_hi = (down, up) if a > 0 else (-up, -down)
            if self.tighten(j, max(new_lo, lo[j]), min(new_hi, hi[j]), name):
                changed.append(j)
        return changed

    # -- presolve -------------------------------------------------------------------------

    def reduce(self, targets: set[int]) -> list[tuple[list[int], list[tuple]]]:
        """Drop fixed unknowns, implied rows and free singleton unknowns; split components.

        Returns ``(columns, rows)`` per component holding a target, rows as
        ``(cols, coefs, lo, hi)`` over the live unknowns.
        """
        lo, hi = self.lo, self.hi
        rows: dict[int, list] = {}
        col_rows: dict[int, set[int]] = defaultdict(set)
        for r, (cols, coefs, rlo, rhi, _) in enumerate(self.rows):
            shift = 0.0
            keep_c, keep_a = [], []
            for j, a in zip(cols, coefs, strict=True):
                if lo[j] == hi[j]:
                    shift += a * lo[j]
                else:
                    keep_c.append(j)
                    keep_a.append(a)
            if not keep_c:
                continue
            rows[r] = [keep_c, keep_a, rlo - shift, rhi - shift]
            for j in keep_c:
                col_rows[j].add(r)

        def implied(r: int) -> bool:
            cols, coefs, rlo, rhi = rows[r]
            mn = sum(a * (lo[j] if a > 0 else hi[j]) for j, a in zip(cols, coefs, strict=True))
            mx = sum(a * (hi[j] if a > 0 else lo[j]) for j, a in zip(cols, coefs, strict=True))
            return mn >= rlo - 1e-9 and mx <= rhi + 1e-9

        def drop(r: int, queue: deque) -> None:
            for j in rows.pop(r)[0]:
                col_rows[j].discard(r)
                if j not in targets and len(col_rows[j]) <= 1:
                    queue.append(j)

        queue: deque[int] = deque()
        for r in list(rows):
            if implied(r):
                drop(r, queue)
        queue.extend(j for j, rs in col_rows.items() if j not in targets and len(rs) <= 1)
        while queue:
            j = queue.popleft()
            rs = col_rows.get(j)
            if not rs or len(rs) != 1 or j in targets:
                continue
            (r,) = rs
            cols, coefs, rlo, rhi = rows[r]
            i = cols.index(j)
            a = coefs[i]
            # Project x_j out: the rest must lie in [rlo - max(a x), rhi - min(a x)].
            ax_min, ax_max = (lo[j], hi[j]) if a > 0 else (-hi[j], -lo[j])
            del cols[i], coefs[i]
            col_rows[j].discard(r)
            rows[r][2] = rlo - ax_max if rlo > -INF and ax_max < INF else -INF
            rows[r][3] = rhi - ax_min if rhi < INF and ax_min > -INF else INF
            if not cols or (rows[r][2] == -INF and rows[r][3] == INF) or implied(r):
                drop(r, queue)
        # Components over the remaining rows.
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for cols, *_ in rows.values():
            root = find(cols[0])
            for j in cols[1:]:
                rj = find(j)
                if rj != root:
                    parent[rj] = root
        comp_cols: dict[int, list[int]] = defaultdict(list)
        comp_rows: dict[int, list[tuple]] = defaultdict(list)
        for j in set(col_rows) | targets:
            if col_rows.get(j) or j in targets:
                comp_cols[find(j)].append(j)
        for cols, coefs, rlo, rhi in rows.values():
            comp_rows[find(cols[0])].append((cols, coefs, rlo, rhi))
        return [(sorted(cols), comp_rows.get(root, [])) for root, cols in comp_cols.items()
                if any(j in targets for j in cols)]


class _State:
    """What the solvers share: the problem, witnesses seen, limits and counters."""

    def __init__(self, problem: _Problem, mip_width: int, mip_time_limit: float,
                 deadline: float | None) -> None:
        self.problem = problem
        self.mip_width = mip_width
        self.mip_time_limit = mip_time_limit
        self.deadline = deadline
        self.attained: dict[int, tuple[float, float]] = {}
        self.undecided: set[int] = set()
        self.stats: dict[str, int] = defaultdict(int)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def seen(self, j: int, value: float) -> None:
        lo, hi = self.attained.get(j, (INF, -INF))
        self.attained[j] = (min(lo, float(value)), max(hi, float(value)))

    def moved(self, j: int) -> bool:
        lo, hi = self.attained.get(j, (INF, -INF))
        return lo < hi

    def exact_ends(self, j: int) -> tuple[bool, bool]:
        """Whether the proven lower and upper bounds of ``j`` are attained."""
        lo, hi = self.attained.get(j, (INF, -INF))
        return lo <= self.problem.lo[j], hi >= self.problem.hi[j]


class _Component:
    """One connected component as a sparse matrix, from which models are cut.

    Positions ``0..n-1`` stand for the problem's unknowns ``cols``. A model over some positions
    and rows holds the positions outside it at ``fixed`` (a *restriction*: its solutions are
    solutions of the whole) or, without ``fixed``, takes in every unknown of its rows (a
    *relaxation*: rows left out only widen it).
    """

    def __init__(self, problem: _Problem, cols: list[int], rows: list[tuple]) -> None:
        self.problem = problem
        self.cols = cols
        pos = {j: i for i, j in enumerate(cols)}
        indptr, indices, data = [0], [], []
        for rc, ra, *_ in rows:
            indices += [pos[j] for j in rc]
            data += ra
            indptr.append(len(indices))
        self.A = sparse.csr_matrix((np.array(data, dtype=float), np.array(indices),
                                    np.array(indptr)), shape=(len(rows), len(cols)))
        self.At = self.A.T.tocsr()
        self.rlo = np.array([r[2] for r in rows], dtype=float)
        self.rhi = np.array([r[3] for r in rows], dtype=float)

    def bounds(self, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi, cols = self.problem.lo, self.problem.hi, self.cols
        return (np.array([lo[cols[i]] for i in where], dtype=float),
                np.array([hi[cols[i]] for i in where], dtype=float))

    def hood(self, i: int, radius: int, cap: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Positions within ``radius`` steps of ``i`` (a step: through a shared row), at most
        ``cap`` of them, nearest first, and the rows touching them."""
        near = np.zeros(self.A.shape[1], dtype=bool)
        near[i] = True
        frontier = np.array([i])
        size = 1
        for _ in range(radius):
            rows = np.unique(self.At[frontier].indices)
            step = np.unique(self.A[rows].indices)
            frontier = step[~near[step]]
            if cap is not None and size + len(frontier) > cap:
                frontier = frontier[:cap - size]
            near[frontier] = True
            size += len(frontier)
            if not len(frontier) or (cap is not None and size >= cap):
                break
        where = np.flatnonzero(near)
        return where, np.unique(self.At[where].indices)

    def model(self, where: np.ndarray | None = None, rows: np.ndarray | None = None, *,
              fixed: np.ndarray | None = None, integer: bool = False,
              time_limit: float | None = None) -> _Model:
        A = self.A if rows is None else self.A[rows]
        rlo = self.rlo if rows is None else self.rlo[rows]
        rhi = self.rhi if rows is None else self.rhi[rows]
        if where is None:
            where = np.unique(A.indices) if rows is not None else np.arange(A.shape[1])
        sub = A[:, where]
        if fixed is not None:
            shift = A @ fixed - sub @ fixed[where]
            rlo, rhi = rlo - shift, rhi - shift
        lo, hi = self.bounds(where)
        return _Model(where, sub.tocsr(), rlo, rhi, lo, hi, integer, time_limit)


class _Model:
    """A HiGHS model over positions ``where`` of a component."""

    def __init__(self, where: np.ndarray, A: sparse.csr_matrix, rlo: np.ndarray,
                 rhi: np.ndarray, lo: np.ndarray, hi: np.ndarray, integer: bool,
                 time_limit: float | None) -> None:
        self.where = where
        self.pos = {int(i): k for k, i in enumerate(where)}
        n, m = len(where), A.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = lo, hi
        lp.row_lower_, lp.row_upper_ = rlo, rhi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        if integer:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        if time_limit is not None:
            self.h.setOptionValue("time_limit", float(time_limit))
        self.h.passModel(lp)

    def make_integer(self, time_limit: float) -> None:
        n = len(self.where)
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                     np.array([highspy.HighsVarType.kInteger] * n))
        self.h.setOptionValue("time_limit", float(time_limit))

    def solve(self, cost: Mapping[int, float], maximize: bool = False
              ) -> tuple[str, float, np.ndarray | None]:
        """Optimise ``cost`` (position -> weight): ``("optimal", objective, x)``,
        ``("unbounded", inf, None)``, ``("infeasible", nan, None)`` or ``("limit", nan, None)``.
        """
        h = self.h
        idx = np.array([self.pos[i] for i in cost], dtype=np.int32)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximize
                               else highspy.ObjSense.kMinimize)
        h.changeColsCost(len(idx), idx, np.array(list(cost.values()), dtype=float))
        h.run()
        status = h.getModelStatus()
        # Read before the costs change back: that invalidates the solution.
        if status == highspy.HighsModelStatus.kOptimal:
            out = ("optimal", h.getInfo().objective_function_value,
                   np.asarray(h.getSolution().col_value))
        elif status == highspy.HighsModelStatus.kUnbounded:
            out = ("unbounded", INF if maximize else -INF, None)
        elif status == highspy.HighsModelStatus.kInfeasible:
            out = ("infeasible", math.nan, None)
        elif status in (highspy.HighsModelStatus.kTimeLimit,
                        highspy.HighsModelStatus.kSolutionLimit,
                        highspy.HighsModelStatus.kIterationLimit):
            info = h.getInfo()
            if info.primal_solution_status == 2:  # a feasible point, not proven optimal
                out = ("feasible", info.objective_function_value,
                       np.asarray(h.getSolution().col_value))
            else:
                out = ("limit", math.nan, None)
        else:
            raise RuntimeError(f"HiGHS: {status}")
        h.changeColsCost(len(idx), idx, np.zeros(len(idx)))
        return out

    def fix(self, i: int, lo: float, hi: float) -> None:
        self.h.changeColBounds(self.pos[i], lo, hi)


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) < TOL))


def _lp_range(state: _State, comp: _Component, model: _Model, i: int, why: str) -> None:
    """Tighten the bounds of position ``i`` to its LP range in ``model`` (which is the whole
    component or a relaxation of it), using witnesses to skip ends already attained."""
    problem, j = state.problem, comp.cols[i]
    for maximize in (False, True):
        if state.exact_ends(j)[maximize]:
            continue
        state.stats["lp"] += 1
        status, value, x = model.solve({i: 1.0}, maximize)
        if status == "infeasible":
            raise InconsistentPublication(f"the constraints around {problem.keys[j]} admit no "
                                          "solution")
        if status != "optimal":
            continue
        if maximize:
            problem.tighten(j, problem.lo[j], value, why)
        else:
            problem.tighten(j, value, problem.hi[j], why)
        yield x


def _close_ends_by_mip(state: _State, comp: _Component, model: _Model, i: int,
                       witness: Callable[[np.ndarray], None] | None) -> bool:
    """Raise the lower bound of position ``i`` until a value is feasible in ``model``, then
    lower the upper one, one MIP each; False on a time-out.

    ``witness`` takes the MIP's points when ``model`` is the whole component or a restriction
    (its points are whole solutions); None for a relaxation, whose points prove nothing.
    """
    problem, j = state.problem, comp.cols[i]
    for upper in (False, True):
        while problem.lo[j] < problem.hi[j]:
            if witness is not None and state.exact_ends(j)[upper]:
                break
            v = problem.hi[j] if upper else problem.lo[j]
            state.stats["mip"] += 1
            model.fix(i, v, v)
            status, _, x = model.solve({})
            model.fix(i, problem.lo[j], problem.hi[j])
            if status in ("optimal", "feasible"):
                if witness is not None:
                    witness(x)
                    state.seen(j, v)
                break
            if status != "infeasible":
                return False
            if upper:
                problem.tighten(j, problem.lo[j], v - 1, "MIP")
            else:
                problem.tighten(j, v + 1, problem.hi[j], "MIP")
    return True


def _solve_whole(state: _State, comp: _Component, wanted: list[int]) -> None:
    """Exact ranges of the targets of one component, solving it whole."""
    problem = state.problem
    model = comp.model()
    tpos = np.array(wanted)
    targets = [comp.cols[i] for i in wanted]

    def witness(x: np.ndarray | None) -> None:
        if x is not None and _integral(x):
            for j, v in zip(targets, np.round(x[tpos]), strict=True):
                state.seen(j, v)

    rng = np.random.default_rng(0)
    objectives = [np.ones(len(wanted)), -np.ones(len(wanted))]
    objectives += [rng.choice([-1.0, 1.0], len(wanted)) for _ in range(6)]
    for sign in objectives:
        state.stats["lp"] += 1
        witness(model.solve(dict(zip(wanted, sign, strict=True)))[2])
        if all(all(state.exact_ends(j)) for j in targets):
            break
    for i, j in zip(wanted, targets, strict=True):
        if state.out_of_time():
            state.undecided.add(j)
            continue
        for x in _lp_range(state, comp, model, i, "LP"):
            witness(x)
    open_ends = [i for i, j in zip(wanted, targets, strict=True)
                 if 0 < problem.hi[j] - problem.lo[j] <= state.mip_width
                 and not all(state.exact_ends(j))]
    if not open_ends:
        return
    model.make_integer(state.mip_time_limit)
    for i in open_ends:
        if state.out_of_time() or not _close_ends_by_mip(state, comp, model, i, witness):
            state.undecided.add(comp.cols[i])


def _reference(state: _State, comp: _Component, truth: Mapping[int, float] | None
               ) -> np.ndarray | None:
    """A whole integer solution of the component: the truth if it fits, else a MIP's point."""
    problem, cols = state.problem, comp.cols
    if truth is not None and all(j in truth for j in cols):
        x = np.array([truth[j] for j in cols], dtype=float)
        lo, hi = comp.bounds(np.arange(len(cols)))
        ax = comp.A @ x
        if np.all((lo <= x) & (x <= hi)) and np.all(
                (comp.rlo - 1e-9 <= ax) & (ax <= comp.rhi + 1e-9)):
            return x
        state.stats["truth_infeasible"] += 1
    state.stats["mip"] += 1
    model = comp.model(integer=True, time_limit=60 * state.mip_time_limit)
    status, _, x = model.solve({})
    if status == "infeasible":
        raise InconsistentPublication(f"no integer solution around {problem.keys[cols[0]]}")
    return np.round(x) if status in ("optimal", "feasible") else None


def _solve_locally(state: _State, comp: _Component, wanted: list[int],
                   truth: Mapping[int, float] | None, *, caps: tuple[int, ...] = (2000, 6000)
                   ) -> None:
    """Decide each target from models around it (see the module docstring, step 5).

    Restrictions first, of each target not yet seen with two values, to its ``caps[0]``
    nearest unknowns: asked for a solution with the target below, then above, its known value,
    every other target in reach pushed at random, so one solve shows many cells movable. A
    target still unmoved gets a relaxation (the rows within two steps; LP, then MIP where
    narrow) that may prove it pinned, then restrictions to ``caps[1:]`` unknowns, then a
    relaxation of the rows within three steps.
    """
    problem, cols = state.problem, comp.cols
    state.stats["local_components"] += 1
    ref = _reference(state, comp, truth)
    if ref is None:
        state.undecided.update(cols[i] for i in wanted)
        return
    for i in wanted:
        state.seen(cols[i], ref[i])
    is_target = np.zeros(len(cols), dtype=bool)
    is_target[wanted] = True
    rng = np.random.default_rng(0)

    def settled(j: int) -> bool:
        return state.moved(j) or problem.lo[j] == problem.hi[j]

    def restrict(i: int, cap: int) -> None:
        j = cols[i]
        near, rows = comp.hood(i, len(cols), cap)
        inner = comp.model(near, rows, fixed=ref, integer=True,
                           time_limit=state.mip_time_limit)
        inner.h.setOptionValue("mip_max_improving_sols", 2)
        others = near[is_target[near] & (near != i)]
        for lo, hi in ((problem.lo[j], ref[i] - 1), (ref[i] + 1, problem.hi[j])):
            if lo > hi:
                continue
            inner.fix(i, lo, hi)
            cost = dict(zip(others.tolist(), rng.choice([-1.0, 1.0], len(others)),
                            strict=True))
            state.stats["mip"] += 1
            status, _, x = inner.solve(cost)
            inner.fix(i, problem.lo[j], problem.hi[j])
            if status in ("optimal", "feasible"):
                x = np.round(x)
                for v in np.flatnonzero(is_target[near]):
                    state.seen(cols[near[v]], x[v])
                state.stats[f"moved_cap{cap}"] += 1
                return
        state.stats[f"stuck_cap{cap}"] += 1

    def relax(i: int, radius: int, mip: bool) -> None:
        j = cols[i]
        _, rows = comp.hood(i, radius)
        outer = comp.model(rows=rows)
        for _ in _lp_range(state, comp, outer, i, f"local LP, radius {radius}"):
            pass
        if mip and 0 < problem.hi[j] - problem.lo[j] <= state.mip_width:
            outer.make_integer(state.mip_time_limit)
            _close_ends_by_mip(state, comp, outer, i, None)
        if problem.lo[j] == problem.hi[j]:
            state.stats[f"pinned_radius{radius}"] += 1

    for i in wanted:
        if state.out_of_time():
            break
        if not settled(cols[i]):
            restrict(i, caps[0])
    steps = [lambda i: relax(i, 2, True), *(partial(restrict, cap=c) for c in caps[1:]),
             lambda i: relax(i, 3, False)]
    for i in wanted:
        j = cols[i]
        for step in steps:
            if settled(j) or state.out_of_time():
                break
            step(i)
        if not settled(j):
            state.undecided.add(j)
