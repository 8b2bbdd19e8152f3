"""Compare a synthetic twin with the real participants on what its spec did not target.

For each arm:

* **KM gap**: the largest vertical distance between the twin's and the real Kaplan-Meier curves
  over [0, H], H = the 90th percentile of the real follow-up (all participants' observed times,
  events and censorings, numpy's default linear interpolation = R's ``quantile`` type 7). Both
  curves are right-continuous step functions, so their difference is constant between jumps: it
  is evaluated at 0 and at every jump (event) time of either curve up to H, each curve taking its
  value at that time (the step at t included), which gives the supremum over [0, H] exactly.
* **RMST at tau** (the area under each KM curve from 0 to tau, R's ``rmean``) for the twin and the
  real data, and the twin's relative error (twin - real) / real.

Usage (pure numpy/pandas/walkback, no R)::

    python tests/specs/real/heldout.py veteran twin.csv            # tau, labels from the JSON
    python tests/specs/real/heldout.py veteran twin.csv --outcome death --tau 140

The real CSVs (``data/<trial>.csv``) have columns ``arm,time,event``; the twin's columns are named
by its spec (``<outcome>_days``, ``<outcome>_event``, ``arm``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from walkback.estimators import kaplan_meier

HERE = Path(__file__).resolve().parent
#: the share of the real follow-up over which the KM curves are compared
GAP_QUANTILE = 0.9


def followup_quantile(time, q: float) -> float:
    """The ``q`` quantile of the observed times (all participants; R ``quantile`` type 7)."""
    t = np.asarray(time, dtype=float)
    if t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError("follow-up times must be a non-empty array of finite numbers")
    return float(np.quantile(t, q))


def _frame(source, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{name}: no such file {path}")
    return pd.read_csv(path)


def _columns(frame: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name}: no column {missing[0]!r}; columns are {', '.join(map(str, frame.columns))}"
        )


def _label_pairs(labels) -> list[tuple[str, str]]:
    """(twin label, real label) pairs from a sequence (same labels) or a mapping twin -> real."""
    if isinstance(labels, Mapping):
        return [(str(k), str(v)) for k, v in labels.items()]
    if isinstance(labels, str):
        raise TypeError("labels must be a sequence of arm labels or a mapping, not one string")
    return [(str(a), str(a)) for a in labels]


def km_gap(twin_km, real_km, horizon: float) -> tuple[float, float]:
    """Largest |S_twin(t) - S_real(t)| over [0, horizon] and the first time it is attained."""
    jumps = np.union1d(twin_km.time[twin_km.n_event > 0], real_km.time[real_km.n_event > 0])
    grid = np.concatenate(([0.0], jumps[jumps <= horizon]))
    diff = np.abs(
        twin_km.survival_at(grid)["survival"].to_numpy()
        - real_km.survival_at(grid)["survival"].to_numpy()
    )
    i = int(np.argmax(diff))
    return float(diff[i]), float(grid[i])


def compare(
    twin_csv_or_frame,
    real_csv,
    time_col: str,
    event_col: str,
    arm_col: str,
    labels,
    tau: float,
) -> dict:
    """Held-out comparison of a twin with the real data, per arm.

    Parameters
    ----------
    twin_csv_or_frame : path or DataFrame
        The twin, with columns ``time_col``, ``event_col`` and ``arm_col``.
    real_csv : path or DataFrame
        The real participants, columns ``arm,time,event``.
    labels : sequence or mapping
        The arms to compare: labels found in both files, or a mapping twin label -> real label.
    tau : float
        RMST horizon (days), positive and within both curves' follow-up.

    Returns
    -------
    dict with ``horizon`` (H, days), ``tau`` and ``arms``: per real label ``km_gap``, ``gap_at``
    (days), ``rmst_twin``, ``rmst_real``, ``rmst_rel_error``.
    """
    twin = _frame(twin_csv_or_frame, "twin")
    real = _frame(real_csv, "real data")
    _columns(twin, (time_col, event_col, arm_col), "twin")
    _columns(real, ("arm", "time", "event"), "real data")
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number of days, got {tau}")
    horizon = followup_quantile(real["time"], GAP_QUANTILE)
    arms = {}
    for twin_label, real_label in _label_pairs(labels):
        tw = twin[twin[arm_col].astype(str) == twin_label]
        re = real[real["arm"].astype(str) == real_label]
        if tw.empty or re.empty:
            which = "twin" if tw.empty else "real data"
            raise ValueError(f"{which}: no participant in arm {twin_label!r}/{real_label!r}")
        tkm = kaplan_meier(tw[time_col], tw[event_col])
        rkm = kaplan_meier(re["time"], re["event"])
        for km, which in ((tkm, "twin"), (rkm, "real data")):
            if km.time[-1] < tau:
                raise ValueError(
                    f"{which}: tau {tau:g} is beyond arm {real_label!r}'s last time "
                    f"{km.time[-1]:g}; choose a smaller tau"
                )
        gap, at = km_gap(tkm, rkm, horizon)
        r_twin, r_real = tkm.rmst(tau).estimate, rkm.rmst(tau).estimate
        arms[real_label] = {
            "km_gap": gap,
            "gap_at": at,
            "rmst_twin": r_twin,
            "rmst_real": r_real,
            "rmst_rel_error": (r_twin - r_real) / r_real,
        }
    return {"horizon": horizon, "tau": float(tau), "arms": arms}


def table(result: dict) -> str:
    """A plain-text table of :func:`compare`'s result."""
    head = f"KM gap over [0, {result['horizon']:g}] days; RMST to tau = {result['tau']:g} days"
    rows = [("arm", "KM gap", "at day", "RMST twin", "RMST real", "rel. error")]
    for arm, r in result["arms"].items():
        rows.append(
            (
                arm,
                f"{r['km_gap']:.3f}",
                f"{r['gap_at']:g}",
                f"{r['rmst_twin']:.1f}",
                f"{r['rmst_real']:.1f}",
                f"{100 * r['rmst_rel_error']:+.1f}%",
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, width, strict=True)) for r in rows]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trial", help="a trial with a <trial>_figures.json here")
    p.add_argument("twin", help="the twin's CSV")
    p.add_argument("--outcome", help="the twin's outcome name (default: the JSON's)")
    p.add_argument("--tau", type=float, help="RMST horizon in days (default: the JSON's)")
    p.add_argument("--arm-col", default="arm")
    args = p.parse_args(argv)
    try:
        fig_path = HERE / f"{args.trial}_figures.json"
        if not fig_path.is_file():
            raise ValueError(f"no figures for trial {args.trial!r}: {fig_path} does not exist")
        fig = json.loads(fig_path.read_text())
        outcome = args.outcome or fig["outcome"]
        tau = args.tau if args.tau is not None else fig["heldout"]["rmst_tau"]
        labels = [fig["arms"]["control"], fig["arms"]["treatment"]]
        res = compare(
            args.twin,
            HERE / "data" / f"{args.trial}.csv",
            f"{outcome}_days",
            f"{outcome}_event",
            args.arm_col,
            labels,
            tau,
        )
    except (ValueError, TypeError, KeyError) as exc:
        print(f"heldout: {exc}", file=sys.stderr)
        return 2
    print(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
