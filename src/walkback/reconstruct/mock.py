"""Mock digitising, for validation: a Kaplan-Meier figure of known participant data, digitised
the way a person would, with the at-risk table printed as a journal would."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["mock_digitise"]


def _nice_step(span: float, columns: int = 6) -> float:
    """The largest step of 1, 2, 2.5 or 5 times a power of ten giving at least ``columns`` steps."""
    mag = 10.0 ** math.floor(math.log10(span / columns))
    for m in (5.0, 2.5, 2.0, 1.0):
        if span / (m * mag) >= columns:
            return m * mag
    return mag / 2.0  # pragma: no cover - m = 1 always qualifies


def mock_digitise(
    ipd: pd.DataFrame,
    *,
    rng: np.random.Generator,
    at_risk_times: Sequence[float] | np.ndarray | None = None,
    time_sd: float = 0.002,
    survival_sd: float = 0.002,
    drop: float = 0.1,
    percent: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Digitise the Kaplan-Meier curves of ``ipd`` the way a person with a digitiser would.

    Every drop of each arm's curve gives its two corners (top and bottom); the curve's start (0, 1)
    and end are clicked too. Each point gets Gaussian noise on both axes and a share ``drop`` of
    the corners is missed. The at-risk table is exact, at regular "nice" times (about eight
    steps over the follow-up), as journals print it.

    Parameters
    ----------
    ipd : pandas.DataFrame
        Columns ``arm``, ``time``, ``event``.
    rng : numpy.random.Generator
        The source of all randomness.
    at_risk_times : sequence of float, optional
        Times of the at-risk table (0 first); default a regular grid over the follow-up.
    time_sd : float
        Time noise SD as a share of the longest follow-up time.
    survival_sd : float
        Survival noise SD (proportion scale).
    drop : float
        Probability that a corner is missed.
    percent : bool
        Give survival in percent.

    Returns
    -------
    (curve, at_risk) : tuple of pandas.DataFrame
        ``arm,time,survival`` and ``arm,time,n_at_risk``, as :func:`reconstruct` takes them.
    """
    from walkback.estimators import kaplan_meier

    arms = list(dict.fromkeys(ipd["arm"].astype(str).tolist()))
    time = ipd["time"].to_numpy(dtype=float)
    event = ipd["event"].to_numpy(dtype=np.int64)
    label = ipd["arm"].astype(str).to_numpy()
    t_max = float(time.max())
    if at_risk_times is None:
        at_risk_times = np.arange(0.0, t_max + 1e-9, _nice_step(t_max))
    grid = np.asarray(at_risk_times, dtype=float)
    curves, tables = [], []
    for a in arms:
        m = label == a
        fit = kaplan_meier(time[m], event[m])
        drops = fit.n_event > 0
        et, es = fit.time[drops], fit.survival[drops]
        before = np.concatenate(([1.0], es[:-1]))
        ct = np.concatenate((et, et))
        cs = np.concatenate((before, es))
        keep = rng.random(ct.size) >= drop
        ct, cs = ct[keep], cs[keep]
        pt = np.concatenate(([0.0], ct, [fit.time[-1]]))
        ps = np.concatenate(([1.0], cs, [fit.survival[-1]]))
        pt = pt + rng.normal(0.0, time_sd * t_max, pt.size)
        ps = ps + rng.normal(0.0, survival_sd, ps.size)
        order = np.argsort(pt, kind="stable")
        scale = 100.0 if percent else 1.0
        curves.append(pd.DataFrame({"arm": a, "time": pt[order], "survival": scale * ps[order]}))
        st = np.sort(time[m])
        n_at = st.size - np.searchsorted(st, grid, side="left")
        tables.append(pd.DataFrame({"arm": a, "time": grid, "n_at_risk": n_at}))
    return pd.concat(curves, ignore_index=True), pd.concat(tables, ignore_index=True)
