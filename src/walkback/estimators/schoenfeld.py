"""Scaled Schoenfeld residuals and their smooth, as R ``cox.zph`` and ``plot.cox.zph``.

R survival 3.x: at each event, the Schoenfeld residual is x minus the risk-weighted mean of x
(under Efron ties, the mean of the d Efron-weighted means of a tied set). Scaled residuals are
``resid V_mean^-1 + b`` with ``V_mean`` the information per event (per stratum, over the events of
the strata where the column varies); a term of several columns (a factor, k arms) is collapsed to
its linear predictor ``resid . b`` with coefficient 1. ``plot.cox.zph`` smooths each term's scaled
residuals against the transformed time by least squares on a natural cubic spline with ``df``
degrees of freedom (knots at quantiles of the data and a grid of ``nsmo`` points) and draws the
band ``+/- 2 sqrt(var * leverage)``. Drawing is in :mod:`walkback.plotting.schoenfeld`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkback.estimators._partial_likelihood import derivatives
from walkback.estimators._risksets import RiskSets
from walkback.estimators.ph_test import ZPH_TRANSFORMS, _time_transform


@dataclass(frozen=True)
class ScaledSchoenfeld:
    """R ``cox.zph``'s ``x``, ``time``, ``y`` (events x terms, NaN where unused) and ``var``."""

    terms: tuple[str, ...]
    time: np.ndarray
    x: np.ndarray
    y: np.ndarray
    var: np.ndarray
    transform: str


@dataclass(frozen=True)
class ZPHSmooth:
    """``plot.cox.zph(..., plot = FALSE)``: the smooth of one term on a grid, with its band."""

    term: str
    x: np.ndarray
    fit: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def scaled_schoenfeld(
    fit: dict, beta: np.ndarray, transform: str, groups: dict
) -> ScaledSchoenfeld:
    """Scaled Schoenfeld residuals per term (``groups``: term name -> coefficient indices)."""
    if transform not in ZPH_TRANSFORMS:
        raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, got {transform!r}")
    rs: RiskSets = fit["rs"]
    x, rows, frac = fit["x"], fit["rows"], fit["frac"]
    p = x.shape[1]
    _, _, info, a, _ = derivatives(rs, x, beta, rows, frac, keep_parts=True)
    ngroups = rs.group_start.size
    counts = np.bincount(rows, minlength=ngroups).astype(float)
    mean_a = (
        np.column_stack(
            [np.bincount(rows, weights=a[:, j], minlength=ngroups) for j in range(p)]
        ).reshape(ngroups, p)
        / np.maximum(counts, 1.0)[:, None]
    )
    ev = np.flatnonzero(rs.event == 1)  # sorted by (stratum, time)
    group_of_row = np.repeat(np.arange(ngroups), rs.group_end - rs.group_start)
    resid = x[ev] - mean_a[group_of_row[ev]]
    # per stratum and column: the stratum's events if the column varies there, else 0 (R "used")
    strata = np.unique(rs.stratum)
    used = np.zeros((strata.size, p))
    for i, s in enumerate(strata):
        m = rs.stratum == s
        varies = (x[m] != x[m][0]).any(axis=0)
        used[i] = np.where(varies, rs.event[m].sum(), 0)
    wt = sum(np.minimum.outer(u, u) for u in used)
    vmean = info / np.where(wt == 0, 1.0, wt)

    names = tuple(groups)
    cols = [list(groups[t]) for t in names]
    collapse = np.zeros((p, len(names)))
    for k, c in enumerate(cols):
        collapse[c, k] = 1.0 if len(c) == 1 else beta[c]
    if any(len(c) > 1 for c in cols):
        resid = resid @ collapse
        vmean = collapse.T @ vmean @ collapse
        used = used[:, [c[0] for c in cols]]
    else:
        order = [c[0] for c in cols]
        resid, vmean, used = resid[:, order], vmean[np.ix_(order, order)], used[:, order]
    ev_stratum = rs.stratum[ev]
    scaled = np.full(resid.shape, np.nan)
    for i, s in enumerate(strata):
        k = np.flatnonzero(used[i] > 0)
        j = ev_stratum == s
        if k.size:
            scaled[np.ix_(j, k)] = np.linalg.solve(vmean[np.ix_(k, k)], resid[np.ix_(j, k)].T).T
    shift = np.array([beta[c[0]] if len(c) == 1 else 1.0 for c in cols])
    g = _time_transform(rs, transform)
    return ScaledSchoenfeld(
        terms=names,
        time=rs.time[ev],
        x=np.asarray(g, dtype=float)[ev],
        y=scaled + shift,
        var=np.linalg.inv(vmean),
        transform=transform,
    )


def natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """A basis of the natural cubic splines with these knots (boundary knots first and last).

    Any basis of the space gives the same least-squares fit and leverage, so this one (the
    truncated-power form) reproduces R's ``ns(x, df, intercept = TRUE)`` fits.
    """
    lo, hi = knots[0], knots[-1]
    scale = hi - lo if hi > lo else 1.0
    z = (x - lo) / scale
    kz = (knots - lo) / scale

    def d(k: int) -> np.ndarray:
        return (np.maximum(z - kz[k], 0) ** 3 - np.maximum(z - kz[-1], 0) ** 3) / (kz[-1] - kz[k])

    cols = [np.ones_like(z), z] + [d(k) - d(kz.size - 2) for k in range(kz.size - 2)]
    return np.column_stack(cols)


def zph_smooth(res: ScaledSchoenfeld, term: str, *, df: int = 4, nsmo: int = 40) -> ZPHSmooth:
    """The smooth and +/- 2 SE band R's ``plot.cox.zph(fit, df, nsmo)`` draws for ``term``."""
    if df < 2:
        raise ValueError(f"df must be at least 2, got {df}")
    i = res.terms.index(term)
    xx = res.x
    grid = np.linspace(xx.min(), xx.max(), nsmo)
    both = np.concatenate((grid, xx))
    # R ns(): interior knots at quantiles of all the points (grid included), type 7
    inner = np.quantile(both, np.linspace(0, 1, df)[1:-1])
    knots = np.concatenate(([both.min()], inner, [both.max()]))
    basis = natural_spline_basis(both, knots)
    pmat, xmat = basis[:nsmo], basis[nsmo:]
    y = res.y[:, i]
    keep = ~np.isnan(y)
    q, r = np.linalg.qr(xmat[keep])
    if np.linalg.matrix_rank(r) < df:
        raise ValueError(f"the spline fit for {term!r} is singular (too few distinct times)")
    coef = np.linalg.solve(r, q.T @ y[keep])
    yhat = pmat @ coef
    lev = ((pmat @ np.linalg.inv(r)) ** 2).sum(axis=1)
    half = 2.0 * np.sqrt(res.var[i, i] * lev)
    return ZPHSmooth(term, grid, yhat, yhat + half, yhat - half)
