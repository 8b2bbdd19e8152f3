"""Simulate participant-level two-arm trials from a trial spec.

The generating model (documented in the spec and in ``Model``):

* **Recruitment**: N = the sum of the arm sizes, with randomisation dates drawn from a piecewise-
  constant rate over the recruitment window (integer days), numbered in recruitment order.
* **Randomisation**: strata levels drawn with the spec's shares; within each stratum cell,
  permuted blocks (sizes drawn uniformly from ``block_sizes``, each balanced to ``ratio``) are
  filled in recruitment order. Arm sizes therefore vary a little around the spec's, as in a trial.
* **Follow-up**: monthly self-report. A participant is followed to the final follow-up date, capped
  at ``max_months`` and extended to at least ``min_months`` (whole reporting intervals). Dropout is
  exponential at ``annual_rate``; a participant who drops out is censored at the last report
  they completed. ``followup_days`` is the day of the last completed report,
  ``round(months * days_per_month)``.
* **Outcomes**: each ``weibull_ph`` outcome has a latent continuous time with
  S_control(t) = exp(-(t/scale)^shape) and S_treatment = S_control^HR; latent times of different
  outcomes are linked by a Gaussian copula (the spec's correlations). A ``first_of`` outcome (any
  recurrence) is the first of its components and an extra independent Weibull PH component.
  Reports are monthly but ask for the date of a recurrence, so an event's day is the day it began,
  ``ceil(t)`` (day 1 is the first day after randomisation). An event counts when its day is at or
  before ``followup_days``; otherwise the outcome is censored at ``followup_days``. Because ceil is
  monotone, a ``first_of`` outcome is never later than any of its components that is an event.


Modules: :mod:`walkback.model` (``Model``, ``Weibull``, ``model_from_spec``), :mod:`walkback.draws`
(streams, baseline, follow-up, covariates, latent times, event days) and
:mod:`walkback.secondary_draws` (safety and economics); their names are importable from here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from walkback.draws import (
    _ceil_days as _ceil_days,
)
from walkback.draws import (
    admin_months,
    correlation_matrix,
    draw_baseline,
    draw_covariates,
    event_days,
    followup_days,
    latent_exponentials,
    spawn_streams,
    stream_names,
)
from walkback.model import Model, Weibull, model_from_spec
from walkback.model import _untruncated as _untruncated
from walkback.secondary_draws import (
    draw_economics,
    draw_safety,
    economics_columns,
    lower_limb_rates,
    other_ae_probability,
)
from walkback.spec import TrialSpec

# heavy imports are deferred: the Monte Carlo path starts in a fraction of a second
if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Model",
    "Weibull",
    "admin_months",
    "assemble",
    "correlation_matrix",
    "draw_baseline",
    "draw_covariates",
    "draw_economics",
    "draw_safety",
    "economics_columns",
    "event_days",
    "followup_days",
    "latent_exponentials",
    "lower_limb_rates",
    "model_from_spec",
    "other_ae_probability",
    "simulate",
    "simulate_streams",
    "spawn_streams",
    "stream_names",
]


def assemble(
    spec: TrialSpec,
    base: dict,
    covs: dict,
    days: dict[str, np.ndarray],
    fu: np.ndarray,
    extra_columns: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The participant-level table (columns as documented in the module docstring)."""
    n = base["treated"].size
    start = np.datetime64(spec.recruitment_start.isoformat(), "D")
    cols: dict[str, object] = {
        "participant_id": [f"P{i:04d}" for i in range(1, n + 1)],
        "arm": np.where(base["treated"], spec.arm_labels["treatment"], spec.arm_labels["control"]),
    }
    for j, s in enumerate(spec.strata):
        cols[s.column] = np.asarray(s.levels, dtype=object)[base["strata_codes"][:, j]]
    cols["randomised_on"] = np.datetime_as_string(start + base["offset"], unit="D")
    cols.update(covs)
    cols["followup_days"] = fu
    for name in spec.outcomes:
        d = days[name]
        ev = d <= fu
        cols[f"{name}_days"] = np.where(ev, d, fu)
        cols[f"{name}_event"] = ev.astype(np.int64)
    cols.update(extra_columns or {})
    import pandas as pd

    return pd.DataFrame(cols)


def simulate(spec: TrialSpec, seed: int, model: Model | None = None) -> pd.DataFrame:
    """One simulated trial from ``spec``; identical for the same (spec, seed, model).

    ``model`` defaults to ``calibrate(spec).model``.
    """
    if model is None:
        from walkback.calibrate import calibrate

        model = calibrate(spec).model
    streams = spawn_streams(seed, spec)
    return simulate_streams(spec, model, streams)


def simulate_streams(
    spec: TrialSpec, model: Model, streams: dict[str, np.random.Generator]
) -> pd.DataFrame:
    base = draw_baseline(spec, streams["baseline"])
    n = base["treated"].size
    covs = draw_covariates(spec, model, streams["covariates"], n)
    latent = latent_exponentials(spec, streams, n)
    days = event_days(spec, model, latent, base["treated"])
    extra = {}
    if spec.safety is not None:
        extra.update(draw_safety(spec, streams["safety"], base["treated"]))
    if spec.economics is not None:
        extra.update(draw_economics(spec, streams["economics"], base["treated"]))
    fu = followup_days(spec, base, model.dropout_rate)
    return assemble(spec, base, covs, days, fu, extra)
